// The hub's HTTP face (Hono): the REST API, health and readiness, and the local dashboard's assets.
// Errors leave as JSON {error} with the right status through one onError.
import { existsSync } from 'node:fs';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HUB_SECURITY_HEADERS } from '../../proto/security-headers.ts';
import { DatabaseError } from '../db.ts';
import { HttpError, isRedisUnavailable } from '../errors.ts';
import type { FleetQuery } from '../fleet/fleet-query.ts';
import type { Logger } from '../log.ts';
import { installDashboardAuth, type DashboardAuth } from './dashboard-auth.ts';
import type { AlertApi } from '../alerts/alert-api.ts';
import { createAlertRoutes, jsonBody, peerAddress } from './alert-routes.ts';
import { authorizeAdmin } from './admin-auth.ts';
import { SAFE_METHODS, type OriginGuard } from './origin-guard.ts';
import { createPublicViewRoutes, type PublicViewRoutesDeps } from './public-view-routes.ts';
import { parseMachineSettings, type MachineSettingsJson } from '../../proto/machine-settings.ts';

export interface HttpAppDeps {
  fleet: FleetQuery;
  /** Storage and state reachability, for /ready. */
  ready: () => Promise<Record<string, boolean>>;
  info: () => Record<string, unknown>;
  log: Logger;
  /** Folder with the built dashboard (index.html ...), served at /. */
  webRoot?: string;
  /** DASHBOARD_TOKEN: when set, everything but /health, /ready and /login needs it (dashboard-auth.ts). */
  dashboardAuth?: DashboardAuth;
  /** Alerting: rules, alerts, channels, dead letters (alert-routes.ts); writes need ADMIN_TOKEN or loopback. */
  alerts?: { api: AlertApi; adminToken: string | undefined };
  /** DELETE /api/machines/{id}: forgets a machine (false: unknown); authorised like alerting writes. */
  machines?: {
    forget(id: string): Promise<boolean>;
    adminToken: string | undefined;
    /** GET/PUT /api/machines/{id}/settings (machine-settings.ts); PUT authorised like alerting writes. */
    settings?: {
      /** Whether the hub knows the machine, from current state or history (404 otherwise). */
      known(id: string): Promise<boolean>;
      get(id: string): Promise<MachineSettingsJson>;
      /** Stores the settings and pushes them to the machine's live stream. */
      put(id: string, settings: MachineSettingsJson): Promise<void>;
    };
  };
  /** Host and Origin checks against rebinding and cross-site requests (origin-guard.ts). */
  originGuard?: OriginGuard;
  /** GET /metrics in Prometheus text format (hub/gateway/prometheus-metrics.ts). */
  metrics?: { readonly contentType: string; render(): Promise<string> };
  /** Public views (public-view-routes.ts); writes need ADMIN_TOKEN or loopback. */
  publicViews?: Omit<PublicViewRoutesDeps, 'dashboardAuth'>;
}

export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export function createHttpApp(deps: HttpAppDeps): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(HUB_SECURITY_HEADERS)) c.header(k, v);
  });
  // No request body the hub takes is anywhere near this; a larger one is refused before it is read.
  app.use('*', bodyLimit({ maxSize: MAX_REQUEST_BODY_BYTES, onError: (c) => c.json({ error: `request body larger than ${MAX_REQUEST_BODY_BYTES} bytes` }, 413) }));
  if (deps.originGuard) {
    const guard = deps.originGuard;
    app.use('*', async (c, next) => {
      // Probes name the hub however their orchestrator reaches it; they read nothing but "ok".
      if (c.req.path !== '/health' && c.req.path !== '/ready') {
        const badHost = guard.checkHost(c.req.header('host'));
        if (badHost) throw new HttpError(403, badHost);
      }
      if (!SAFE_METHODS.has(c.req.method)) {
        const badOrigin = guard.checkOrigin({ host: c.req.header('host'), origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') });
        if (badOrigin) throw new HttpError(403, badOrigin);
      }
      await next();
    });
  }
  if (deps.dashboardAuth) installDashboardAuth(app, deps.dashboardAuth);

  app.get('/health', (c) => c.json({ status: 'ok', ...deps.info() }));
  app.get('/ready', async (c) => {
    const checks = await deps.ready();
    const ok = Object.values(checks).every(Boolean);
    return c.json({ status: ok ? 'ready' : 'not ready', checks }, ok ? 200 : 503);
  });

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (c) => c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }));
  }

  // Tells the dashboard it talks to the hub (full: history, alerts) rather than the public edge relay.
  app.get('/api/info', (c) => c.json({ mode: 'hub', ...deps.info() }));
  app.get('/api/machines', async (c) => c.json(await deps.fleet.list()));
  app.get('/api/machines/:id/metrics', async (c) => c.json(await deps.fleet.detail(c.req.param('id'))));
  app.get('/api/machines/:id/recent', async (c) => {
    const limit = c.req.query('limit');
    const n = limit === undefined ? undefined : Number(limit);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 10_000)) throw new HttpError(400, 'limit must be an integer in 1..10000');
    return c.json(await deps.fleet.recent(c.req.param('id'), n));
  });
  app.get('/api/machines/:id/history', async (c) =>
    c.json(
      await deps.fleet.history(c.req.param('id'), {
        metric: c.req.query('metric'),
        from: c.req.query('from'),
        to: c.req.query('to'),
        step: c.req.query('step'),
      }),
    ),
  );
  if (deps.machines) {
    const machines = deps.machines;
    const requireAdmin = (c: Context) => {
      const decision = authorizeAdmin({ adminToken: machines.adminToken, authorization: c.req.header('authorization'), peerAddress: peerAddress(c) });
      if (!decision.ok) {
        if (decision.status === 401) c.header('WWW-Authenticate', 'Bearer realm="sysmonstm"');
        throw new HttpError(decision.status, decision.message);
      }
    };
    if (machines.settings) {
      const settings = machines.settings;
      app.get('/api/machines/:id/settings', async (c) => {
        const id = c.req.param('id');
        if (!(await settings.known(id))) throw new HttpError(404, `unknown machine "${id}"`);
        return c.json(await settings.get(id));
      });
      app.put('/api/machines/:id/settings', async (c) => {
        requireAdmin(c);
        const id = c.req.param('id');
        const parsed = parseMachineSettings(await jsonBody(c));
        if (!parsed.ok) throw new HttpError(400, parsed.error);
        if (!(await settings.known(id))) throw new HttpError(404, `unknown machine "${id}"`);
        await settings.put(id, parsed.settings);
        return c.json(parsed.settings);
      });
    }
    app.delete('/api/machines/:id', async (c) => {
      requireAdmin(c);
      const id = c.req.param('id');
      if (!(await machines.forget(id))) throw new HttpError(404, `unknown machine "${id}"`);
      return c.body(null, 204);
    });
  }
  if (deps.alerts) app.route('/api', createAlertRoutes(deps.alerts));
  if (deps.publicViews) app.route('/api', createPublicViewRoutes({ ...deps.publicViews, dashboardAuth: deps.dashboardAuth }));
  app.all('/api/*', (c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));

  if (deps.webRoot && existsSync(deps.webRoot)) {
    app.use('/*', serveStatic({ root: deps.webRoot }));
    app.get('/machines/*', serveStatic({ root: deps.webRoot, path: 'index.html' }));
  }

  app.notFound((c) => c.json({ error: `not found: ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    // The same as the gRPC twins (errors.ts toConnectError → UNAVAILABLE): try again, nothing changed.
    if (isRedisUnavailable(err) || (err instanceof DatabaseError && err.retryable)) {
      deps.log.warn({ err: (err as Error).message, path: c.req.path }, 'request failed: a store is unavailable');
      c.header('Retry-After', '5');
      return c.json({ error: isRedisUnavailable(err) ? 'Redis is unavailable; try again' : 'the database is unavailable; try again' }, 503);
    }
    deps.log.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
