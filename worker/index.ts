// The public edge Worker (Hono): viewers connect to /ws and get the live fleet from a FleetRelay shard;
// only the hub, with `Authorization: Bearer <HUB_TOKEN>`, may open /ingest (checked here, before any
// Durable Object is touched); /api/snapshot, /api/machines and /api/machines/:id/recent answer from
// relay-0; everything else is the dashboard from static assets, with security headers on every response.
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RelayStats } from '../durable-objects/relay-stats.ts';
import { fleetCoordinator, relayShard, type Env } from './env.ts';
import { checkHubAuth } from './hub-auth.ts';
import { parseRelayConfig, type RelayConfig } from './relay-config.ts';
import { securityHeaders } from './security-headers.ts';

export { FleetCoordinator } from '../durable-objects/fleet-coordinator.ts';
export { FleetRelay } from '../durable-objects/fleet-relay.ts';

type AppEnv = { Bindings: Env; Variables: { config: RelayConfig } };

const app = new Hono<AppEnv>();

app.use('*', async (c, next) => {
  c.set('config', parseRelayConfig(c.env as unknown as Record<string, unknown>));
  await next();
  if (c.res.status === 101) return; // a WebSocket handshake response is passed through untouched
  const res = new Response(c.res.body, c.res); // asset responses have immutable headers
  for (const [name, value] of Object.entries(securityHeaders(new URL(c.req.url)))) res.headers.set(name, value);
  c.res = res;
});

const requireWebSocket = (upgrade: string | undefined) => {
  if (upgrade?.toLowerCase() !== 'websocket') throw new HTTPException(426, { message: 'expected a WebSocket upgrade (Upgrade: websocket)' });
};

/** Rejects anything but the hub; runs before any Durable Object is addressed. */
const requireHub = async (authorization: string | undefined, token: string | undefined) => {
  const result = await checkHubAuth(authorization, token);
  if (result === 'not-configured') throw new HTTPException(503, { message: 'ingest is disabled: HUB_TOKEN is not set on this Worker' });
  if (result === 'missing') throw new HTTPException(401, { message: 'missing Authorization: Bearer <token>' });
  if (result === 'wrong') throw new HTTPException(401, { message: 'invalid hub token' });
};

app.get('/health', (c) => c.json({ status: 'ok', mode: 'edge', shards: c.var.config.relayShards }));
// Readiness, the hub's /ready name and shape: ready once the first relay shard answers (it holds the
// snapshot the API and new viewers read). JSON, never the dashboard page the catch-all would serve.
app.get('/ready', async (c) => {
  c.header('Cache-Control', 'no-store');
  try {
    await relayShard(c.env, 0).stats();
    return c.json({ status: 'ready', mode: 'edge', checks: { relay: true } });
  } catch (err) {
    return c.json({ status: 'not ready', mode: 'edge', checks: { relay: false }, error: (err as Error).message }, 503);
  }
});
app.get('/api/info', (c) => c.json({ mode: 'edge', readOnly: true, shards: c.var.config.relayShards }));

app.get('/ws', (c) => {
  requireWebSocket(c.req.header('Upgrade'));
  const shard = Math.floor(Math.random() * c.var.config.relayShards);
  return relayShard(c.env, shard).fetch(new Request('https://fleet-relay/viewer', c.req.raw));
});

app.get('/ingest', async (c) => {
  await requireHub(c.req.header('Authorization'), c.env.HUB_TOKEN);
  requireWebSocket(c.req.header('Upgrade'));
  const target = c.var.config.relayShards > 1 ? fleetCoordinator(c.env) : relayShard(c.env, 0);
  return target.fetch(new Request('https://fleet-relay/hub', c.req.raw));
});

app.get('/api/snapshot', async (c) => {
  const text = await relayShard(c.env, 0).snapshot();
  return c.body(text, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=1' });
});

app.get('/api/machines', async (c) => {
  c.header('Cache-Control', 'public, max-age=1');
  return c.json(await relayShard(c.env, 0).machines());
});

const MACHINE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The relay's short in-memory ring for one machine, in the hub's /recent shape: [{t, metrics}], oldest first. */
app.get('/api/machines/:id/recent', async (c) => {
  const id = c.req.param('id');
  if (!MACHINE_ID.test(id)) throw new HTTPException(400, { message: 'machine id must match [A-Za-z0-9._-]{1,128}' });
  const rawLimit = c.req.query('limit');
  const limit = rawLimit === undefined ? c.var.config.recentPoints : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new HTTPException(400, { message: 'limit must be an integer in 1..10000' });
  const points = await relayShard(c.env, 0).recent(id, limit);
  if (points === null) throw new HTTPException(404, { message: `unknown machine: ${id}` });
  c.header('Cache-Control', 'public, max-age=1');
  return c.json(points);
});

/** Counters of every relay object, for operators and the cost measurements; hub token required. */
app.get('/api/relay-stats', async (c) => {
  await requireHub(c.req.header('Authorization'), c.env.HUB_TOKEN);
  const { relayShards } = c.var.config;
  const stats: RelayStats[] = await Promise.all(Array.from({ length: relayShards }, (_, i) => relayShard(c.env, i).stats()));
  if (relayShards > 1) stats.push(await fleetCoordinator(c.env).stats());
  return c.json({ shards: relayShards, objects: stats });
});

app.all('/api/*', (c) => c.json({ error: `no such endpoint on the edge: ${c.req.method} ${c.req.path}` }, 404));
app.all('/ingest', (c) => c.json({ error: 'use GET with a WebSocket upgrade' }, 405));
app.all('/ws', (c) => c.json({ error: 'use GET with a WebSocket upgrade' }, 405));

// The dashboard (web/dist) through the assets binding, so the security headers above apply to pages too.
app.all('*', (c) => c.env.ASSETS.fetch(c.req.raw));

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    const headers: Record<string, string> = err.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="sysmonstm-edge"' } : {};
    return c.json({ error: err.message }, err.status, headers);
  }
  console.error(`edge worker: ${c.req.method} ${c.req.path} failed:`, err);
  return c.json({ error: 'internal error' }, 500);
});

export default app;
