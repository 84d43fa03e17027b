// REST routes for alerting, mounted under /api by the hub's HTTP app:
//   GET/POST /api/rules, GET/PUT/DELETE /api/rules/{id}
//   GET /api/alerts[?machine=], GET /api/alerts/history[?limit&machine&rule_id&before],
//   POST /api/alerts/acknowledge {rule_id, machine}, POST /api/alerts/silence {rule_id, machine, duration_s}
//   GET/POST /api/channels, DELETE /api/channels/{id}, POST /api/channels/{id}/test
//   GET /api/notifications/dead-letters[?limit], POST /api/notifications/dead-letters/{id}/retry
// Every write passes admin-auth.ts first. Bodies are JSON, at most 64 KiB.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpError } from '../errors.ts';
import type { AlertApi } from '../alerts/alert-api.ts';
import { authorizeAdmin } from './admin-auth.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/** The TCP peer of a request served by @hono/node-server (undefined in in-process tests without one). */
export function peerAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } }; server?: { incoming?: { socket?: { remoteAddress?: string } } } } | undefined;
  return (env?.server?.incoming ?? env?.incoming)?.socket?.remoteAddress;
}

/** A JSON request body (Content-Type: application/json), or a 400. */
export async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(400, 'the body must be JSON (Content-Type: application/json)');
  try {
    return await c.req.json();
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

export function createAlertRoutes(deps: { api: AlertApi; adminToken: string | undefined }): Hono {
  const { api } = deps;
  const app = new Hono();

  // Only these paths: the sub-app's middleware would otherwise cover every /api route of the hub.
  const paths = ['/rules', '/rules/*', '/alerts', '/alerts/*', '/channels', '/channels/*', '/notifications/*'];
  for (const path of paths) {
    app.use(path, async (c, next) => {
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        const decision = authorizeAdmin({ adminToken: deps.adminToken, authorization: c.req.header('authorization'), peerAddress: peerAddress(c) });
        if (!decision.ok) {
          if (decision.status === 401) c.header('WWW-Authenticate', 'Bearer realm="sysmonstm"');
          throw new HttpError(decision.status, decision.message);
        }
      }
      await next();
    });
    app.use(
      path,
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new HttpError(413, `the body may be at most ${MAX_BODY_BYTES} bytes`);
        },
      }),
    );
  }

  app.get('/rules', async (c) => c.json(await api.listRules()));
  app.post('/rules', async (c) => c.json(await api.createRule(await jsonBody(c)), 201));
  app.get('/rules/:id', async (c) => c.json(await api.getRule(c.req.param('id'))));
  app.put('/rules/:id', async (c) => c.json(await api.updateRule(c.req.param('id'), await jsonBody(c))));
  app.delete('/rules/:id', async (c) => {
    await api.deleteRule(c.req.param('id'));
    return c.body(null, 204);
  });

  app.get('/alerts', async (c) => c.json(await api.listAlerts({ machine: c.req.query('machine') })));
  app.get('/alerts/history', async (c) =>
    c.json(await api.history({ limit: c.req.query('limit'), machine: c.req.query('machine'), rule_id: c.req.query('rule_id'), before: c.req.query('before') })),
  );
  app.post('/alerts/acknowledge', async (c) => c.json(await api.acknowledge(await jsonBody(c))));
  app.post('/alerts/silence', async (c) => c.json(await api.silence(await jsonBody(c))));

  app.get('/channels', async (c) => c.json(await api.listChannels()));
  app.post('/channels', async (c) => c.json(await api.createChannel(await jsonBody(c)), 201));
  app.post('/channels/:id/test', async (c) => c.json(await api.testChannel(c.req.param('id'))));
  app.delete('/channels/:id', async (c) => {
    await api.deleteChannel(c.req.param('id'));
    return c.body(null, 204);
  });

  app.get('/notifications/dead-letters', async (c) => c.json(await api.deadLetters({ limit: c.req.query('limit') })));
  app.post('/notifications/dead-letters/:id/retry', async (c) => {
    await api.retryDeadLetter(c.req.param('id'));
    return c.json({ status: 'queued' });
  });
  return app;
}
