// RELAY_SHARDS=2 in workerd: a view's hub socket ends at its coordinator (view:<slug>), which forwards
// every frame by RPC to both relay shards of the view; viewers are spread over the shards and every one
// of them gets the deltas. The coordinator, like a relay, wants the config frame first.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handshakeStatus, machine, relayStats, TestHub, TestViewer, viewConfig, waitFor } from './edge-clients.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const VIEWERS = 16; // all on one shard by chance: 2 / 2^16
let dev: WranglerDev;
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  dev = await startWranglerDev({ vars: { RELAY_SHARDS: '2', CHECKPOINT_INTERVAL_MS: '500' } });
});
afterAll(async () => {
  for (const c of open) c.close();
  await dev?.stop();
});

it('refuses fleet frames on a coordinator socket without a config frame', async () => {
  const bare = await TestHub.open(dev.ingestUrl, dev.hubToken);
  open.push(bare);
  bare.sendSnapshot([machine('x', {})], Date.now());
  expect(JSON.parse(await waitFor('refusal', () => bare.replies[0])).error).toMatch(/config frame/);
  await bare.close();
});

it('spreads viewers over two relay shards and delivers every delta to all of them', async () => {
  const hub = await TestHub.forView(dev.ingestUrl, dev.hubToken, 'default');
  open.push(hub);
  const ts = Date.now();
  hub.sendSnapshot([machine('s1', { cpu_percent: 1 }, { lastSeen: ts }), machine('s2', { cpu_percent: 2 }, { lastSeen: ts })], ts);
  await waitFor('both shards hold the snapshot', async () => {
    const stats = await relayStats(dev.url, dev.hubToken);
    return stats.filter((s) => s.role === 'relay' && s.machines === 2).length === 2;
  });

  const viewers: TestViewer[] = [];
  for (let i = 0; i < VIEWERS; i++) {
    const v = await TestViewer.open(dev.viewerUrl);
    open.push(v);
    viewers.push(v);
  }
  for (const v of viewers) await waitFor('snapshot at every viewer', () => v.fleet.size === 2);

  for (let round = 1; round <= 3; round++) hub.sendDelta([['s1', 0, { 0: 10 * round }]], [], Date.now());
  for (const v of viewers) await waitFor('last delta at every viewer', () => v.value('s1', 'cpu_percent') === 30);
  // deltas arrive in the order the hub sent them
  for (const v of viewers) {
    expect(v.info()).toMatchObject({ t: 'v', slug: 'default' });
    const seen = v.messages.flatMap((m) => (m.t === 'd' ? m.updates.filter((u) => u[0] === 's1').map((u) => u[2]['0']) : []));
    expect(seen).toEqual([10, 20, 30]);
  }

  const stats = await relayStats(dev.url, dev.hubToken);
  const relays = stats.filter((s) => s.role === 'relay');
  const coordinator = stats.find((s) => s.role === 'coordinator')!;
  expect(relays.map((s) => s.name).sort()).toEqual(['view:default:0', 'view:default:1']);
  expect(relays.every((s) => s.viewers > 0)).toBe(true);
  expect(relays.reduce((n, s) => n + s.viewers, 0)).toBe(VIEWERS);
  expect(relays.every((s) => s.hubs === 0 && s.hubFramesIn === 0)).toBe(true); // the hub talks to the coordinator only
  expect(coordinator.hubs).toBe(1);
  expect(coordinator.name).toBe('view:default');
  expect(coordinator.hubFramesIn).toBe(6); // the refused frame above; then config, snapshot, 3 deltas
  expect(coordinator.framesRejected).toBe(1);
  // one RPC per frame per shard, and one per shard when the bare socket closed (hub liveness)
  expect(coordinator.rpcCallsOut).toBe(12);
  expect(relays.every((s) => s.framesAccepted === 5)).toBe(true);
});

it('takes one hub socket per shard (/ingest?shard=i), without the coordinator, and refuses a shard out of range', async () => {
  expect(await handshakeStatus(`${dev.ingestUrl}?view=direct&shard=2`, { Authorization: `Bearer ${dev.hubToken}` })).toBe(400);
  expect(await handshakeStatus(`${dev.ingestUrl}?view=direct&shard=x`, { Authorization: `Bearer ${dev.hubToken}` })).toBe(400);
  const hubs: TestHub[] = [];
  const ts = Date.now();
  for (const shard of [0, 1]) {
    const hub = await TestHub.open(`${dev.ingestUrl}?view=direct&shard=${shard}`, dev.hubToken);
    open.push(hub);
    hub.sendConfig(viewConfig('direct'));
    hub.sendSnapshot([machine('d1', { cpu_percent: 1 }, { lastSeen: ts })], ts);
    hubs.push(hub);
  }
  // a viewer of a view its shard has no config for yet is refused 404 (no such view): wait for both
  await waitFor('both shards hold the direct view', async () => {
    const stats = await relayStats(dev.url, dev.hubToken, ['direct']);
    return stats.filter((s) => s.role === 'relay' && s.machines === 1).length === 2;
  });
  const viewers: TestViewer[] = [];
  for (let i = 0; i < 4; i++) {
    const v = await TestViewer.open(dev.viewerUrl.replace(/\/ws$/, '/v/direct/ws'));
    open.push(v);
    viewers.push(v);
  }
  for (const v of viewers) await waitFor('snapshot', () => v.fleet.size === 1);
  for (const hub of hubs) hub.sendDelta([['d1', 0, { 0: 42 }]], [], Date.now());
  for (const v of viewers) await waitFor('delta from its shard', () => v.value('d1', 'cpu_percent') === 42);
  const stats = await relayStats(dev.url, dev.hubToken, ['direct']);
  const relays = stats.filter((s) => s.role === 'relay');
  expect(relays.map((s) => [s.hubs, s.viewers])).toEqual([[1, 2], [1, 2]]);
  expect(stats.find((s) => s.role === 'coordinator')!.rpcCallsOut).toBe(0);
  for (const v of viewers) expect(v.hub()?.up).toBe(true); // each shard hears its own hub socket
});
