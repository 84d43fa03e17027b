// The public edge Worker (Hono). Each public view is its own relay object(s), view:<slug>:<shard>:
// viewers open /v/{slug}/ws (the view "default" also at /ws) and get that view's live fleet; the page
// /v/{slug} is the dashboard; /v/{slug}/api/{machines,snapshot,view,machines/:id/recent} answer from
// shard 0 with `Cache-Control: public, max-age=5`. A link view wants `?key=<secret>` on all of them;
// unknown, revoked or wrong-key views are 404 JSON alike. Only the hub, with `Authorization: Bearer
// <HUB_TOKEN>`, may open /ingest?view=<slug>[&shard=<i>] (checked here, before any Durable Object is touched);
// its upgrade answer carries X-Relay-Shards, the view's shard count, so the hub opens one socket per shard.
// Everything else is the dashboard from static assets, with security headers on every response.
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RelayStats } from '../durable-objects/relay-stats.ts';
import { LIVE_METRICS } from '../proto/delta.ts';
import { MACHINE_ID_PATTERN, MACHINE_ID_RULE } from '../proto/machine-id.ts';
import { DEFAULT_VIEW_SLUG, MAX_VIEWS, VIEW_SLUG_PATTERN } from '../proto/public-view.ts';
import { fleetCoordinator, relayShard, type Env } from './env.ts';
import { checkHubAuth } from './hub-auth.ts';
import { parseRelayConfig, type RelayConfig } from '../durable-objects/relay-config.ts';
import { RELAY_SHARDS_HEADER } from '../proto/relay-shards.ts';
import { securityHeaders } from '../proto/security-headers.ts';

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
// Readiness, the hub's /ready name and shape: ready once the default view's first relay shard answers
// (it holds the snapshot the API and new viewers read). JSON, never the page the catch-all serves.
app.get('/ready', async (c) => {
  c.header('Cache-Control', 'no-store');
  try {
    await relayShard(c.env, DEFAULT_VIEW_SLUG, 0).stats();
    return c.json({ status: 'ready', mode: 'edge', checks: { relay: true } });
  } catch (err) {
    return c.json({ status: 'not ready', mode: 'edge', checks: { relay: false }, error: (err as Error).message }, 503);
  }
});
app.get('/api/info', (c) => c.json({ mode: 'edge', readOnly: true, shards: c.var.config.relayShards }));

/** The slug of a /v/{slug}/… route, checked before any Durable Object is addressed (404 otherwise). */
const viewSlug = (raw: string | undefined): string => {
  if (raw === undefined || !VIEW_SLUG_PATTERN.test(raw)) throw new HTTPException(404, { message: 'no such view' });
  return raw;
};
const noSuchView = () => new HTTPException(404, { message: 'no such view' });

/** The hub's socket for one view: `/ingest?view=<slug>` (no `view` = "default"). */
app.get('/ingest', async (c) => {
  await requireHub(c.req.header('Authorization'), c.env.HUB_TOKEN);
  requireWebSocket(c.req.header('Upgrade'));
  const slug = c.req.query('view') ?? DEFAULT_VIEW_SLUG;
  if (!VIEW_SLUG_PATTERN.test(slug)) throw new HTTPException(400, { message: 'view must match [a-z0-9-]{1,48}' });
  // With shards, the hub either holds one socket to the view's coordinator, or one socket per shard
  // (`&shard=i`): no coordinator hop, and every frame bills 20:1 instead of one RPC per shard.
  const rawShard = c.req.query('shard');
  let target;
  if (rawShard !== undefined) {
    const shard = Number(rawShard);
    if (!/^\d{1,3}$/.test(rawShard) || shard >= c.var.config.relayShards) throw new HTTPException(400, { message: `shard must be an integer in 0..${c.var.config.relayShards - 1}` });
    target = relayShard(c.env, slug, shard);
  } else target = c.var.config.relayShards > 1 ? fleetCoordinator(c.env, slug) : relayShard(c.env, slug, 0);
  const res = await target.fetch(new Request(`https://fleet-relay/hub?view=${slug}`, c.req.raw));
  if (res.status !== 101 || res.webSocket === null) return res;
  // The hub learns the shard count from this answer and opens one socket per shard.
  const headers = new Headers(res.headers);
  headers.set(RELAY_SHARDS_HEADER, String(c.var.config.relayShards));
  return new Response(null, { status: 101, webSocket: res.webSocket, headers });
});

/** Viewers go to the shards in turn (from a random start per isolate), so each shard gets its share
 *  however many viewers there are; with many isolates the turns interleave and stay even. */
let nextShard = Math.floor(Math.random() * 1_000_000);
const viewerSocket = (c: Context<AppEnv>, slug: string) => {
  requireWebSocket(c.req.header('Upgrade'));
  const shard = nextShard++ % c.var.config.relayShards;
  const key = c.req.query('key');
  const url = `https://fleet-relay/viewer?view=${slug}${key === undefined ? '' : `&key=${encodeURIComponent(key)}`}`;
  return relayShard(c.env, slug, shard).fetch(new Request(url, c.req.raw));
};

/** Reads answer from shard 0 of the view: every shard holds the same snapshot. */
const snapshotRoute = async (c: Context<AppEnv>, slug: string) => {
  const text = await relayShard(c.env, slug, 0).snapshot(c.req.query('key'));
  if (text === null) throw noSuchView();
  return c.body(text, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=5' });
};

const viewRoute = async (c: Context<AppEnv>, slug: string) => {
  const info = await relayShard(c.env, slug, 0).info(c.req.query('key'));
  if (info === null) throw noSuchView();
  c.header('Cache-Control', 'public, max-age=5');
  return c.json({ slug: info.slug, title: info.title, metrics: info.metrics.map((i) => LIVE_METRICS[i]) });
};

const machinesRoute = async (c: Context<AppEnv>, slug: string) => {
  const machines = await relayShard(c.env, slug, 0).machines(c.req.query('key'));
  if (machines === null) throw noSuchView();
  c.header('Cache-Control', 'public, max-age=5');
  return c.json(machines);
};

/** The relay's short in-memory ring for one machine, in the hub's /recent shape: [{t, metrics}], oldest first. */
const recentRoute = async (c: Context<AppEnv>, slug: string) => {
  const id = c.req.param('id') ?? '';
  if (!MACHINE_ID_PATTERN.test(id)) throw new HTTPException(400, { message: `machine id ${MACHINE_ID_RULE}` });
  const rawLimit = c.req.query('limit');
  const limit = rawLimit === undefined ? c.var.config.recentPoints : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new HTTPException(400, { message: 'limit must be an integer in 1..10000' });
  const points = await relayShard(c.env, slug, 0).recent(id, limit, c.req.query('key'));
  if (points === null) throw new HTTPException(404, { message: `unknown machine: ${id}` });
  c.header('Cache-Control', 'public, max-age=5');
  return c.json(points);
};

// A view at /v/{slug}/…; the view "default" also at the top level.
app.get('/v/:slug/ws', (c) => viewerSocket(c, viewSlug(c.req.param('slug'))));
app.get('/v/:slug/api/snapshot', (c) => snapshotRoute(c, viewSlug(c.req.param('slug'))));
app.get('/v/:slug/api/view', (c) => viewRoute(c, viewSlug(c.req.param('slug'))));
app.get('/v/:slug/api/machines', (c) => machinesRoute(c, viewSlug(c.req.param('slug'))));
app.get('/v/:slug/api/machines/:id/recent', (c) => recentRoute(c, viewSlug(c.req.param('slug'))));
app.get('/ws', (c) => viewerSocket(c, DEFAULT_VIEW_SLUG));
app.get('/api/snapshot', (c) => snapshotRoute(c, DEFAULT_VIEW_SLUG));
app.get('/api/view', (c) => viewRoute(c, DEFAULT_VIEW_SLUG));
app.get('/api/machines', (c) => machinesRoute(c, DEFAULT_VIEW_SLUG));
app.get('/api/machines/:id/recent', (c) => recentRoute(c, DEFAULT_VIEW_SLUG));

/** Counters of the relay objects of the views asked for (`?view=a&view=b`, default "default"), for
 *  operators and the cost measurements; hub token required. */
app.get('/api/relay-stats', async (c) => {
  await requireHub(c.req.header('Authorization'), c.env.HUB_TOKEN);
  const { relayShards } = c.var.config;
  const slugs = c.req.queries('view') ?? [DEFAULT_VIEW_SLUG];
  if (slugs.length > MAX_VIEWS || !slugs.every((s) => VIEW_SLUG_PATTERN.test(s))) {
    throw new HTTPException(400, { message: `view must match [a-z0-9-]{1,48}, at most ${MAX_VIEWS} of them` });
  }
  const views: Record<string, RelayStats[]> = {};
  for (const slug of slugs) {
    const stats: RelayStats[] = await Promise.all(Array.from({ length: relayShards }, (_, i) => relayShard(c.env, slug, i).stats()));
    if (relayShards > 1) stats.push(await fleetCoordinator(c.env, slug).stats());
    views[slug] = stats;
  }
  return c.json({ shards: relayShards, views, objects: Object.values(views).flat() });
});

app.all('/api/*', (c) => c.json({ error: `no such endpoint on the edge: ${c.req.method} ${c.req.path}` }, 404));
app.all('/ingest', (c) => c.json({ error: 'use GET with a WebSocket upgrade' }, 405));
app.all('/ws', (c) => c.json({ error: 'use GET with a WebSocket upgrade' }, 405));
app.all('/v/:slug/ws', (c) => c.json({ error: 'use GET with a WebSocket upgrade' }, 405));
app.all('/v/:slug/api/*', (c) => c.json({ error: `no such endpoint on the edge: ${c.req.method} ${c.req.path}` }, 404));

/** A view's page: the dashboard (it reads the slug and ?key= from its own URL). */
app.get('/v/:slug', (c) => {
  viewSlug(c.req.param('slug'));
  return c.env.ASSETS.fetch(new Request(new URL('/', c.req.url), c.req.raw));
});
app.get('/v/:slug/', (c) => {
  viewSlug(c.req.param('slug'));
  return c.env.ASSETS.fetch(new Request(new URL('/', c.req.url), c.req.raw));
});

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
