// The edge Worker's routes inside workerd (the Workers Vitest integration), with its real bindings: the
// hub's /ingest checked before any Durable Object is addressed (and then routed to view:<slug>:0), the
// read routes answering from shard 0 with their cache headers, the refusals as JSON, the security
// headers on every response including the dashboard's pages from the assets binding, readiness, and the
// operators' relay counters behind the hub token.
import { env, exports } from 'cloudflare:workers';
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { relayShard, relayShardName } from '../../durable-objects/relay-shards.ts';
import type { RelayStats } from '../../durable-objects/relay-stats.ts';
import { freshSlug, HUB_TOKEN, machine, ORIGIN, TestHub, upgrade, waitFor } from '../durable-objects/relay-sockets.workers.ts';

const get = (path: string, init?: RequestInit) => exports.default.fetch(`${ORIGIN}${path}`, init);
const hubAuth = { Authorization: `Bearer ${HUB_TOKEN}` };
/** Whether the relay object of shard 0 of `slug` has ever been created in this run. */
const relayExists = async (slug: string) => {
  const id = env.FLEET_RELAY.idFromName(relayShardName(slug, 0));
  return (await listDurableObjectIds(env.FLEET_RELAY)).some((x) => x.equals(id));
};

describe('the hub socket, /ingest', () => {
  it('refuses anyone without the hub token, and anything but a WebSocket, before touching an object', async () => {
    const slug = freshSlug('ingest-refused');
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      [`/ingest?view=${slug}`, { Upgrade: 'websocket' }, 401, /missing Authorization/],
      [`/ingest?view=${slug}`, { Upgrade: 'websocket', Authorization: 'Bearer not-the-token' }, 401, /invalid hub token/],
      [`/ingest?view=${slug}`, { Upgrade: 'websocket', Authorization: `Basic ${btoa('hub:x')}` }, 401, /missing Authorization/],
      [`/ingest?view=${slug}`, hubAuth, 426, /expected a WebSocket upgrade/],
      ['/ingest?view=Not_A_Slug', { Upgrade: 'websocket', ...hubAuth }, 400, /view must match/],
      [`/ingest?view=${slug}&shard=1`, { Upgrade: 'websocket', ...hubAuth }, 400, /shard must be an integer in 0\.\.0/],
      [`/ingest?view=${slug}&shard=-1`, { Upgrade: 'websocket', ...hubAuth }, 400, /shard must be an integer/],
    ];
    for (const [path, headers, status, error] of cases) {
      const res = await get(path, { headers });
      expect(res.status, path).toBe(status);
      const body = (await res.json()) as { error: string };
      expect(body.error, path).toMatch(error);
      if (status === 401) expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="sysmonstm-edge"');
    }
    expect((await get('/ingest', { method: 'POST', headers: hubAuth })).status).toBe(405);
    expect(await relayExists(slug)).toBe(false);
    // The listing does see objects that were addressed: the check above can fail.
    const viewed = freshSlug('ingest-viewed');
    expect((await upgrade(`/v/${viewed}/ws`)).status).toBe(404);
    expect(await relayExists(viewed)).toBe(true);
  });

  it("opens the view's relay shard 0 for the hub, with or without &shard=0", async () => {
    for (const query of ['', '&shard=0']) {
      const slug = freshSlug('ingest-open');
      const hub = await TestHub.open(slug, query);
      hub.config({ t: 'c', slug, title: 'Opened', access: 'public', keyHash: null, metrics: [0] });
      hub.snapshot([machine('m1', { cpu_percent: 1 })], Date.now());
      await waitFor('the snapshot taken', async () => (await relayShard(env, slug, 0).stats()).machines === 1);
      const seen = await runInDurableObject(relayShard(env, slug, 0), (_relay, state) => ({ name: state.id.name, sockets: state.getWebSockets('hub').length }));
      expect(seen).toEqual({ name: `view:${slug}:0`, sockets: 1 });
      hub.close();
    }
  });
});

describe('public routes', () => {
  it('answers the read routes from shard 0 with a short public cache, and 404s for views that do not exist', async () => {
    const slug = freshSlug('reads');
    const hub = await TestHub.forView(slug, { title: 'Reads', metrics: [0, 1] });
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 12, memory_percent: 34 }, { lastSeen: t0 })], t0);
    await waitFor('the snapshot taken', async () => (await relayShard(env, slug, 0).stats()).machines === 1);

    const snapshot = await get(`/v/${slug}/api/snapshot`);
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
    expect(snapshot.headers.get('Cache-Control')).toBe('public, max-age=5');
    const snap = (await snapshot.json()) as { t: string; m: Array<{ id: string }> };
    expect(snap.t).toBe('s');
    expect(snap.m.map((m) => m.id)).toEqual(['m1']);
    expect(await (await get(`/v/${slug}/api/view`)).json()).toEqual({ slug, title: 'Reads', metrics: ['cpu_percent', 'memory_percent'] });
    const recent = await get(`/v/${slug}/api/machines/m1/recent`);
    expect(await recent.json()).toEqual([{ t: t0, metrics: { cpu_percent: 12, memory_percent: 34 } }]);

    for (const path of [`/v/${freshSlug('nobody')}/api/snapshot`, `/v/${freshSlug('nobody')}/api/view`, `/v/${freshSlug('nobody')}/api/machines`, '/v/Bad_Slug/api/view']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.json(), path).toEqual({ error: 'no such view' });
    }
    expect((await get(`/v/${slug}/api/nope`)).status).toBe(404);
    expect(await (await get('/api/nope')).json()).toEqual({ error: 'no such endpoint on the edge: GET /api/nope' });
    expect((await get(`/v/${slug}/ws`)).status).toBe(426);
    expect((await get(`/v/${slug}/ws`, { method: 'POST' })).status).toBe(405);
    expect((await get('/ws', { method: 'POST' })).status).toBe(405);
    hub.close();
  });

  it('serves the default view at the top level too', async () => {
    const hub = await TestHub.forView('default', { title: 'Everything' });
    hub.snapshot([machine('top', { cpu_percent: 5 })], Date.now());
    await waitFor('the snapshot taken', async () => (await relayShard(env, 'default', 0).stats()).machines === 1);
    expect(((await (await get('/api/view')).json()) as { title: string }).title).toBe('Everything');
    expect(((await (await get('/api/machines')).json()) as Array<{ id: string }>).map((m) => m.id)).toEqual(['top']);
    const { ws } = await upgrade('/ws');
    expect(ws).not.toBeNull();
    ws?.close(1000);
    hub.close();
  });

  it('puts the security headers on every response, pages from the assets binding included', async () => {
    for (const path of ['/health', '/', `/v/${freshSlug('page')}`, '/api/nope']) {
      const res = await get(path);
      const csp = res.headers.get('Content-Security-Policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("connect-src 'self' wss://edge.test");
      expect(res.headers.get('X-Content-Type-Options'), path).toBe('nosniff');
      expect(res.headers.get('Cross-Origin-Opener-Policy'), path).toBe('same-origin');
      await res.body?.cancel();
    }
    const page = await get(`/v/${freshSlug('page')}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<!doctype html>/i);
  });

  it('reports health, readiness (from the default view shard 0) and what it is', async () => {
    expect(await (await get('/health')).json()).toEqual({ status: 'ok', mode: 'edge', shards: 1 });
    expect(await (await get('/api/info')).json()).toEqual({ mode: 'edge', readOnly: true, shards: 1 });
    const ready = await get('/ready');
    expect(ready.headers.get('Cache-Control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'ready', mode: 'edge', checks: { relay: true } });
  });
});

describe('relay counters, /api/relay-stats', () => {
  it('needs the hub token and lists one relay per shard of each view asked for', async () => {
    expect((await get('/api/relay-stats')).status).toBe(401);
    expect((await get('/api/relay-stats?view=Bad_Slug', { headers: hubAuth })).status).toBe(400);
    const a = freshSlug('stats-a');
    const b = freshSlug('stats-b');
    const res = await get(`/api/relay-stats?view=${a}&view=${b}`, { headers: hubAuth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { shards: number; views: Record<string, RelayStats[]>; objects: RelayStats[] };
    expect(body.shards).toBe(1);
    expect(Object.keys(body.views)).toEqual([a, b]);
    expect(body.objects.map((o) => [o.role, o.name])).toEqual([
      ['relay', `view:${a}:0`],
      ['relay', `view:${b}:0`],
    ]);
  });
});
