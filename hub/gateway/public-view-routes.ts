// REST routes for public views, mounted under /api by the hub's HTTP app:
//   GET /api/public-views, GET/PUT/DELETE /api/public-views/{slug}, POST /api/public-views/{slug}/rotate-key
// Reads need what every REST read needs (the dashboard token when set); writes pass admin-auth.ts
// like the alerting writes. A link view's secret (and its full URL) is shown only to a request that
// holds the admin token (or comes from loopback without one) or the dashboard token. PUT's body is one
// view definition (proto/public-view.ts); the file's views answer 409 to a change.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpError, notFound } from '../errors.ts';
import type { PublicViewDefinition } from '../../proto/public-view.ts';
import type { PublicViewEntry, ViewRegistry } from '../views/view-registry.ts';
import { publicViewUrl } from '../views/view-urls.ts';
import { authorizeAdmin } from './admin-auth.ts';
import { peerAddress } from './alert-routes.ts';
import type { DashboardAuth } from './dashboard-auth.ts';

export const MAX_VIEW_BODY_BYTES = 512 * 1024; // a view may list up to 10,000 machine ids

export interface PublicViewRoutesDeps {
  views: ViewRegistry;
  adminToken: string | undefined;
  dashboardAuth: DashboardAuth | undefined;
  edgeUrl: string | undefined;
}

/** A definition as JSON: `machines: "all"` rather than {all: true}, as the file is written. */
export function viewDefinitionJson(view: PublicViewDefinition): Record<string, unknown> {
  return { ...view, machines: view.machines.all === true ? 'all' : view.machines };
}

export function createPublicViewRoutes(deps: PublicViewRoutesDeps): Hono {
  const app = new Hono();
  const admin = (c: Context) => authorizeAdmin({ adminToken: deps.adminToken, authorization: c.req.header('authorization'), peerAddress: peerAddress(c) });
  const mayReadSecrets = (c: Context) =>
    admin(c).ok || (deps.dashboardAuth?.allows({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') }) ?? false);
  const show = (c: Context, e: PublicViewEntry) => {
    const secrets = mayReadSecrets(c);
    return {
      view: viewDefinitionJson(e.view),
      source: e.source,
      url: publicViewUrl(deps.edgeUrl, e.view.slug) ?? null,
      ...(e.view.access === 'link' ? (secrets ? { secret: e.secret, link: publicViewUrl(deps.edgeUrl, e.view.slug, e.secret) ?? null } : { secret: null, link: null, secretHidden: true }) : {}),
    };
  };

  for (const path of ['/public-views', '/public-views/*']) {
    app.use(path, async (c, next) => {
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        const decision = admin(c);
        if (!decision.ok) {
          if (decision.status === 401) c.header('WWW-Authenticate', 'Bearer realm="sysmonstm"');
          throw new HttpError(decision.status, decision.message);
        }
      }
      await next();
    });
    app.use(path, bodyLimit({ maxSize: MAX_VIEW_BODY_BYTES, onError: () => { throw new HttpError(413, `the body may be at most ${MAX_VIEW_BODY_BYTES} bytes`); } }));
  }

  app.get('/public-views', (c) => c.json({ edge: deps.edgeUrl ? 'configured' : 'not configured (set EDGE_URL and EDGE_API_KEY)', views: deps.views.list().map((e) => show(c, e)) }));
  app.get('/public-views/:slug', (c) => {
    const e = deps.views.get(c.req.param('slug'));
    if (!e) throw notFound(`no public view "${c.req.param('slug')}"`);
    return c.json(show(c, e));
  });
  app.put('/public-views/:slug', async (c) => {
    if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) throw new HttpError(400, 'the body must be JSON (Content-Type: application/json)');
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, 'the body is not valid JSON');
    }
    const { entry, created } = await deps.views.put(c.req.param('slug'), body);
    return c.json(show(c, entry), created ? 201 : 200);
  });
  app.delete('/public-views/:slug', async (c) => {
    await deps.views.remove(c.req.param('slug'));
    return c.body(null, 204);
  });
  app.post('/public-views/:slug/rotate-key', async (c) => c.json(show(c, await deps.views.rotateKey(c.req.param('slug')))));
  return app;
}
