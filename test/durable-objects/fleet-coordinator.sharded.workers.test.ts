// A sharded view inside workerd (RELAY_SHARDS = 3, the workers-sharded project): the hub's socket ends
// at the view's FleetCoordinator (view:<slug>), which forwards every frame by RPC to the relay shards
// view:<slug>:0..2 (durable-objects/relay-shards.ts); viewers are spread over the shards in turn and all
// get the same fleet. Refusals by the coordinator and by the shards come back to the hub as one error
// frame; the coordinator's alarm tells the shards the hub is alive while it only keeps its socket open.
// A hub may also open one shard directly with &shard=<i>. The dead-man webhook goes out once per view
// (from shard 0), to a receiver on the Node side of Miniflare that checks its signature.
import { env, exports } from 'cloudflare:workers';
import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetCoordinator, relayShard, relayShardName } from '../../durable-objects/relay-shards.ts';
import type { RelayStats } from '../../durable-objects/relay-stats.ts';
import { createFleetEncoder } from '../../proto/delta.ts';
import { freshSlug, HUB_TOKEN, machine, ORIGIN, settle, TestHub, TestViewer, waitFor } from './relay-sockets.workers.ts';

const SHARDS = 3;
/** HUB_SILENT_AFTER_MS of the workers-sharded project (vitest.config.ts): the coordinator's alarm runs every third of it. */
const SILENT_MS = 1500;
const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
const track = <T extends { close(): void }>(s: T): T => {
  open.push(s);
  return s;
};
const shardStats = (slug: string) => Promise.all(Array.from({ length: SHARDS }, (_, i) => relayShard(env, slug, i).stats()));
const coordinatorTook = (slug: string, n: number) =>
  waitFor(`${n} frames through the coordinator of ${slug}`, async () => {
    const s = await fleetCoordinator(env, slug).stats();
    return s.framesAccepted + s.framesRejected >= n;
  });

describe('relay shards', () => {
  it('names a view’s objects view:<slug>:<i> and view:<slug>', async () => {
    expect(relayShardName('team-a', 2)).toBe('view:team-a:2');
    const names = await Promise.all([
      runInDurableObject(relayShard(env, 'team-a', 2), (_o, state) => state.id.name),
      runInDurableObject(fleetCoordinator(env, 'team-a'), (_o, state) => state.id.name),
    ]);
    expect(names).toEqual(['view:team-a:2', 'view:team-a']);
    expect(relayShard(env, 'team-a', 2).id.equals(env.FLEET_RELAY.idFromName('view:team-a:2'))).toBe(true);
    expect(relayShard(env, 'team-a', 1).id.equals(relayShard(env, 'team-a', 2).id)).toBe(false);
  });

  it('forwards every hub frame to each shard and spreads viewers over them, each getting the same fleet', async () => {
    const slug = freshSlug('sharded');
    const hub = track(await TestHub.forView(slug, { title: 'Sharded' }));
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 1 }, { lastSeen: t0 }), machine('m2', { cpu_percent: 2 }, { lastSeen: t0 })], t0);
    await coordinatorTook(slug, 2);
    expect((await shardStats(slug)).map((s) => [s.name, s.machines, s.framesAccepted, s.rpcCalls > 0])).toEqual(
      Array.from({ length: SHARDS }, (_, i) => [relayShardName(slug, i), 2, 2, true]),
    );
    const viewers: TestViewer[] = [];
    for (let i = 0; i < SHARDS; i++) viewers.push(track(await TestViewer.open(`/v/${slug}/ws`)));
    await waitFor('the start frames', () => viewers.every((v) => v.fleet.size === 2 && v.info()?.title === 'Sharded'));
    // Consecutive viewers of one isolate go to consecutive shards: one each.
    expect((await shardStats(slug)).map((s) => s.viewers)).toEqual([1, 1, 1]);

    hub.delta([machine('m1', { cpu_percent: 50 }, { lastSeen: t0 + 1000 })], t0 + 1000);
    await waitFor('the delta at every viewer', () => viewers.every((v) => v.fleet.get('m1')?.values.cpu_percent === 50));
    const deltas = viewers.map((v) => v.raw.filter((f) => f.startsWith('{"t":"d"')).at(-1));
    expect(new Set(deltas).size).toBe(1); // every shard encodes the same frame
    const coordinator = await fleetCoordinator(env, slug).stats();
    expect(coordinator).toMatchObject({ role: 'coordinator', name: `view:${slug}`, framesAccepted: 3, framesRejected: 0, hubs: 1 });
    expect(coordinator.rpcCallsOut).toBeGreaterThanOrEqual(3 * SHARDS);

    // The reads answer from shard 0; the operators' counters list every shard and the coordinator.
    const machines = (await (await exports.default.fetch(`${ORIGIN}/v/${slug}/api/machines`)).json()) as Array<{ id: string; metrics: { cpu_percent?: number } }>;
    expect(machines.map((m) => [m.id, m.metrics.cpu_percent])).toEqual([['m1', 50], ['m2', 2]]);
    const res = await exports.default.fetch(`${ORIGIN}/api/relay-stats?view=${slug}`, { headers: { Authorization: `Bearer ${HUB_TOKEN}` } });
    const body = (await res.json()) as { shards: number; objects: RelayStats[] };
    expect(body.shards).toBe(SHARDS);
    expect(body.objects.map((o) => `${o.role} ${o.name}`)).toEqual([...Array.from({ length: SHARDS }, (_, i) => `relay ${relayShardName(slug, i)}`), `coordinator view:${slug}`]);
  });

  it('refuses fleet frames before the config frame without forwarding them, and returns the shards’ refusals as one error', async () => {
    const slug = freshSlug('sharded-refused');
    const hub = track(await TestHub.open(slug));
    hub.snapshot([machine('m1', { cpu_percent: 1 })], Date.now());
    await waitFor('an error frame', () => hub.errors.length === 1);
    expect(hub.errors[0].error).toMatch(/send the view config frame/);
    const ids = await listDurableObjectIds(env.FLEET_RELAY);
    expect(ids.some((id) => id.equals(relayShard(env, slug, 0).id))).toBe(false); // no shard was called

    // A config naming another view: each shard refuses it, the hub gets all three reasons at once.
    hub.config({ t: 'c', slug: 'another-view', title: 'X', access: 'public', keyHash: null, metrics: [0] });
    await waitFor('the shards’ refusal', () => hub.errors.length === 2);
    const refusal = hub.errors[1].error;
    for (let i = 0; i < SHARDS; i++) expect(refusal).toContain(`${relayShardName(slug, i)}: this socket is for view "${slug}"`);
    expect(refusal.split('this socket is for view').length - 1).toBe(SHARDS);

    // Numbers the shards never heard of: they ask, through the coordinator, for a snapshot.
    hub.config({ t: 'c', slug, title: 'Refusals', access: 'public', keyHash: null, metrics: [0] });
    const elsewhere = createFleetEncoder();
    const t0 = Date.now();
    elsewhere.restart([machine('m1', { cpu_percent: 1 })], t0);
    hub.send(elsewhere.delta([['m1', 0, { 0: 5 }]], [], t0 + 1000));
    await waitFor('the resync request', () => hub.errors.length === 3);
    expect(hub.errors[2].resync).toBe(true);
    expect(await fleetCoordinator(env, slug).stats()).toMatchObject({ framesAccepted: 1, framesRejected: 3 });
  });

  it("keeps every shard's viewers told the hub is up through the coordinator's alarm, and that it left", async () => {
    const slug = freshSlug('sharded-liveness');
    const hub = track(await TestHub.forView(slug));
    hub.snapshot([machine('m1', { cpu_percent: 1 })], Date.now());
    await coordinatorTook(slug, 2);
    const viewers: TestViewer[] = [];
    for (let i = 0; i < SHARDS; i++) viewers.push(track(await TestViewer.open(`/v/${slug}/ws`)));
    await waitFor('the start frames', () => viewers.every((v) => v.hub()?.up === true));
    // The coordinator's alarm is set while a hub socket is open; each run tells every shard when the
    // hub was last heard (hubLiveness: one RPC per shard, besides the stats() calls that count too).
    const before = (await shardStats(slug)).map((s) => s.rpcCalls);
    expect(await runDurableObjectAlarm(fleetCoordinator(env, slug))).toBe(true);
    const after = (await shardStats(slug)).map((s) => s.rpcCalls);
    after.forEach((n, i) => expect(n - before[i]).toBeGreaterThanOrEqual(2));
    // Frames stop; the hub only pings (answered by the runtime at the coordinator, never seen by the
    // shards): the alarm alone keeps it up at every shard past HUB_SILENT_AFTER_MS.
    for (let i = 0; i < 10; i++) {
      hub.send('ping');
      await settle(SILENT_MS / 5);
    }
    expect(hub.raw.filter((f) => f === 'pong').length).toBeGreaterThanOrEqual(9);
    expect(viewers.map((v) => v.hub()?.up)).toEqual([true, true, true]);
    expect(viewers.every((v) => v.extras.every((f) => f.t !== 'h' || f.up))).toBe(true);

    // The close is announced at once at every shard, as by a single relay: well before the silence
    // (the last ping was SILENT_MS / 5 ago) could count the hub down.
    const closedAt = Date.now();
    hub.close();
    await waitFor('the hub shown down at every shard', () => viewers.every((v) => v.hub()?.up === false), SILENT_MS / 2);
    expect(Date.now() - closedAt).toBeLessThan(SILENT_MS / 2);
    await settle(SILENT_MS / 2);
    expect(await runDurableObjectAlarm(fleetCoordinator(env, slug))).toBe(false); // no socket left: no alarm
  });

  it('lets a hub open one shard directly with &shard=<i>, and no shard beyond RELAY_SHARDS', async () => {
    const slug = freshSlug('sharded-direct');
    const hub = track(await TestHub.open(slug, '&shard=2'));
    hub.config({ t: 'c', slug, title: 'Direct', access: 'public', keyHash: null, metrics: [0] });
    hub.snapshot([machine('m1', { cpu_percent: 1 })], Date.now());
    await waitFor('shard 2 has the fleet', async () => (await relayShard(env, slug, 2).stats()).machines === 1);
    expect((await relayShard(env, slug, 2).stats()).hubs).toBe(1);
    const ids = await listDurableObjectIds(env.FLEET_COORDINATOR);
    expect(ids.some((id) => id.equals(fleetCoordinator(env, slug).id))).toBe(false);
    expect((await relayShard(env, slug, 0).stats()).machines).toBe(0);
    const res = await exports.default.fetch(`${ORIGIN}/ingest?view=${slug}&shard=3`, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${HUB_TOKEN}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('shard must be an integer in 0..2');
  });
});

/** A notice as the receiver kept it (test/durable-objects/deadman-receiver.ts, on the Node side). */
interface ReceivedNotice {
  event: string | null;
  verified: boolean;
  body: Record<string, unknown>;
}

describe('the dead-man webhook of a sharded view', () => {
  /** Notices the receiver got for `slug` (test/durable-objects/deadman-receiver.ts). */
  const noticesFor = async (slug: string) => {
    const hooks = (env as unknown as { DEADMAN_HOOKS: Fetcher }).DEADMAN_HOOKS;
    const all = (await (await hooks.fetch('https://deadman-hooks/')).json()) as ReceivedNotice[];
    return all.filter((n) => n.body.view === slug);
  };

  it('is sent once by shard 0 when the hub has been silent for DEADMAN_AFTER_S, signed, and resolved once when it is back', async () => {
    const slug = freshSlug('deadman');
    const hub = track(await TestHub.forView(slug));
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 1 }, { lastSeen: t0 })], t0);
    await coordinatorTook(slug, 2);
    expect(await noticesFor(slug)).toEqual([]);
    hub.close();
    // DEADMAN_AFTER_S = 1 in this project: shard 0's own alarm fires it.
    const [firing] = await waitFor('the firing notice', async () => {
      const n = await noticesFor(slug);
      return n.length > 0 && n;
    });
    expect(firing).toMatchObject({ event: 'firing', verified: true, body: { version: 1, kind: 'firing', event: 'hub_silent', view: slug } });
    expect(firing.body.silent_for_s).toBeGreaterThanOrEqual(1);
    const stored = await runInDurableObject(relayShard(env, slug, 0), (_relay, state) => state.storage.sql.exec("SELECT body FROM relay_state WHERE name = 'hub'").one().body);
    expect(JSON.parse(String(stored))).toMatchObject({ deadmanFired: true });

    const back = track(await TestHub.forView(slug));
    back.snapshot([machine('m1', { cpu_percent: 2 }, { lastSeen: Date.now() })], Date.now());
    const notices = await waitFor('the resolved notice', async () => {
      const n = await noticesFor(slug);
      return n.length > 1 && n;
    });
    await settle(300);
    // One of each for the view, however many shards it has.
    expect((await noticesFor(slug)).map((n) => [n.event, n.verified, n.body.kind])).toEqual([
      ['firing', true, 'firing'],
      ['resolved', true, 'resolved'],
    ]);
    expect(notices[1].body.summary).toBe(`[RESOLVED] the sysmonstm hub feeding view "${slug}" is back`);
  });
});
