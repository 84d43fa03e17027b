// RELAY_SHARDS=2 in workerd with the hub's real edge forwarder: it learns the shard count from the
// Worker's upgrade answer (X-Relay-Shards) and holds one socket per shard (/ingest?view=<slug>&shard=<i>),
// no coordinator. Every viewer on either shard gets every push. One shard's socket is cut in the middle
// (a TCP proxy between hub and Worker resets it): the forwarder shows the lost shard, reconnects it and
// sends it a fresh snapshot, so that shard's viewers catch up on what they missed while the other
// shard's viewers go on as if nothing happened. The hub watch needs no coordinator: each shard hears the
// hub's pings itself (viewers on both see the hub up while it only pings, and gone when it leaves), the
// uptime bitmaps reach viewers of both shards, and shard 0 calls the dead-man webhook once, and once
// when the hub is back.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEdgeForwarder, type EdgeForwarder } from '../../hub/edge/edge-forwarder.ts';
import { machine, MemoryFleetSource, relayStats, TestViewer, viewConfig, waitFor } from './edge-clients.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const SLUG = 'sharded';
const VIEWERS = 8;
const log = pino({ level: 'silent' });
let dev: WranglerDev;
let proxy: ShardProxy;
let receiver: Server;
const hooks: Array<{ kind: string; view: string }> = [];
const open: { close(): unknown }[] = [];

/** A TCP proxy in front of the Worker that knows which shard each hub connection is for, so a test can
 *  reset one of them (a network fault: the Worker sees 1006, the hub a dropped socket). */
interface ShardProxy {
  url: string;
  server: TcpServer;
  /** Open client sockets by the shard in their upgrade request (-1: none). */
  connections: Array<{ shard: number; socket: Socket }>;
  resetShard(shard: number): number;
}

async function startProxy(targetPort: number): Promise<ShardProxy> {
  const connections: ShardProxy['connections'] = [];
  const server = createTcpServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const entry = { shard: -1, socket: client };
    connections.push(entry);
    client.once('data', (first) => {
      const line = first.toString('latin1').split('\r\n', 1)[0];
      const match = /[?&]shard=(\d+)/.exec(line);
      entry.shard = match ? Number(match[1]) : -1;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      const i = connections.indexOf(entry);
      if (i >= 0) connections.splice(i, 1);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ingest?view=${SLUG}`,
    server,
    connections,
    resetShard(shard) {
      const hit = connections.filter((c) => c.shard === shard);
      for (const c of hit) c.socket.resetAndDestroy();
      return hit.length;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve(text));
  });
}

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const body = JSON.parse(await readBody(req)) as { kind: string; view: string };
    hooks.push({ kind: body.kind, view: body.view });
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  dev = await startWranglerDev({
    vars: {
      RELAY_SHARDS: '2',
      HUB_SILENT_AFTER_MS: '1500',
      DEADMAN_AFTER_S: '3',
      DEADMAN_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/deadman`,
      CHECKPOINT_INTERVAL_MS: '500',
    },
  });
  proxy = await startProxy(dev.port);
}, 120_000);
afterAll(async () => {
  for (const c of open) c.close();
  await dev?.stop();
  proxy?.server.close();
  await new Promise((r) => receiver?.close(r));
});

function startForwarder(source: MemoryFleetSource): EdgeForwarder {
  const f = createEdgeForwarder({
    url: proxy.url,
    apiKey: dev.hubToken,
    pushIntervalMs: 150,
    source,
    log,
    backoff: { baseMs: 100, maxMs: 400 },
    heartbeatMs: 300,
    configFrame: () => JSON.stringify(viewConfig(SLUG)),
  });
  open.push({ close: () => void f.close() });
  f.start();
  return f;
}

/** cpu_percent values of machine `id` in the order a viewer got them. */
const seen = (v: TestViewer, id: string) =>
  v.messages.flatMap((m) => (m.t === 'd' ? m.updates.filter((u) => u[0] === id && u[2]['0'] !== undefined).map((u) => u[2]['0']) : []));

let forwarder: EdgeForwarder;
const source = new MemoryFleetSource();
const viewers: TestViewer[] = [];

it('learns the shard count, holds one socket per shard, and every viewer on either shard gets every push', async () => {
  source.set(machine('p1', { cpu_percent: 0 }, { lastSeen: Date.now() }));
  source.set(machine('p2', { cpu_percent: 50 }, { lastSeen: Date.now() }));
  forwarder = startForwarder(source);
  await waitFor('a socket per shard', () => forwarder.stats().shardsConnected === 2 && forwarder.stats().connected);
  expect(forwarder.stats()).toMatchObject({ shards: 2, shardsConnected: 2, connects: 2 });
  await waitFor('both shards hold the snapshot', async () => (await relayStats(dev.url, dev.hubToken, [SLUG])).filter((s) => s.role === 'relay' && s.machines === 2).length === 2);

  for (let i = 0; i < VIEWERS; i++) {
    const v = await TestViewer.open(`ws://127.0.0.1:${dev.port}/v/${SLUG}/ws`);
    open.push(v);
    viewers.push(v);
  }
  for (const v of viewers) await waitFor('snapshot at every viewer', () => v.fleet.size === 2);
  // Viewers go to the shards in turn: four each, in the order they connected.
  const before = await relayStats(dev.url, dev.hubToken, [SLUG]);
  expect(before.filter((s) => s.role === 'relay').map((s) => s.viewers)).toEqual([VIEWERS / 2, VIEWERS / 2]);

  for (let value = 1; value <= 5; value++) {
    source.set(machine('p1', { cpu_percent: value }, { lastSeen: Date.now() }));
    for (const v of viewers) await waitFor(`push ${value} at every viewer`, () => v.value('p1', 'cpu_percent') === value);
  }
  for (const v of viewers) expect(seen(v, 'p1')).toEqual([1, 2, 3, 4, 5]);

  const stats = await relayStats(dev.url, dev.hubToken, [SLUG]);
  const relays = stats.filter((s) => s.role === 'relay');
  const coordinator = stats.find((s) => s.role === 'coordinator')!;
  expect(relays.map((s) => s.hubs)).toEqual([1, 1]);
  expect(relays.every((s) => s.framesAccepted === 7 && s.framesRejected === 0)).toBe(true); // config, snapshot, 5 deltas
  expect(coordinator.hubFramesIn).toBe(0); // no coordinator hop, no RPC per shard
  expect(coordinator.rpcCallsOut).toBe(0);
}, 60_000);

it('repairs a shard whose socket is cut: it is reconnected with a snapshot, its viewers catch up, the others go on', async () => {
  const connectsBefore = forwarder.stats().shardLinks.map((l) => l.connects);
  const relaysBefore = (await relayStats(dev.url, dev.hubToken, [SLUG])).filter((s) => s.role === 'relay');
  const messagesBefore = viewers.map((v) => v.messages.length);

  expect(proxy.resetShard(1)).toBe(1);
  await waitFor('the lost shard is visible', () => forwarder.stats().shardLinks[1].disconnects === 1, 5_000);
  // What changes while shard 1 is down reaches shard 0's viewers at once.
  source.set(machine('p2', { cpu_percent: 60 }, { lastSeen: Date.now() }));
  await waitFor('shard 1 is back', () => forwarder.stats().shardLinks[1].connects === connectsBefore[1] + 1 && forwarder.stats().connected, 10_000);
  expect(forwarder.stats().shardLinks[0].connects).toBe(connectsBefore[0]); // shard 0 never dropped
  expect(forwarder.stats().shardLinks[0].disconnects).toBe(0);
  for (const v of viewers) await waitFor('every viewer holds the change made while shard 1 was down', () => v.value('p2', 'cpu_percent') === 60, 10_000);
  // Shard 1's viewers were told the hub was gone while its socket was cut, and back; shard 0's never.
  const downs = viewers.map((v) => v.extras.some((f) => f.t === 'h' && !f.up));
  expect(downs.filter(Boolean)).toHaveLength(VIEWERS / 2);

  const relaysAfter = (await relayStats(dev.url, dev.hubToken, [SLUG])).filter((s) => s.role === 'relay');
  expect(relaysAfter[1].hubConnects).toBe(relaysBefore[1].hubConnects + 1);
  expect(relaysAfter[0].hubConnects).toBe(relaysBefore[0].hubConnects);
  // The relay viewers stayed connected: shard 1's repair came through its hub socket, not a reconnect.
  expect(relaysAfter.map((s) => s.viewers)).toEqual([VIEWERS / 2, VIEWERS / 2]);
  expect(relaysAfter.map((s) => s.viewerConnects)).toEqual(relaysBefore.map((s) => s.viewerConnects));

  // Then pushes go on to everyone, in order, nothing missed on either shard.
  for (let value = 6; value <= 8; value++) {
    source.set(machine('p1', { cpu_percent: value }, { lastSeen: Date.now() }));
    for (const v of viewers) await waitFor(`push ${value} at every viewer`, () => v.value('p1', 'cpu_percent') === value);
  }
  for (const v of viewers) expect(seen(v, 'p1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  // Nobody got a frame out of order or twice: p2 changed once, so each viewer saw 60 exactly once.
  for (const [i, v] of viewers.entries()) {
    expect(v.messages.length).toBeGreaterThan(messagesBefore[i]);
    expect(seen(v, 'p2')).toEqual([60]);
  }
  const stats = forwarder.stats();
  expect(stats.shardLinks.map((l) => l.connected)).toEqual([true, true]);
  expect(stats.snapshotsSent).toBe(3); // one per shard at start, one for the repaired shard
}, 60_000);

it('watches the hub on every shard without a coordinator: pings keep it up, the uptime bitmaps reach every shard, shard 0 calls the dead-man webhook', async () => {
  // A quiet fleet: only the forwarder's heartbeats reach the shards for four silence periods. (Shard
  // 1's viewers were told the hub was gone while its socket was cut: only what comes now counts.)
  for (const v of viewers) await waitFor('hub up at every viewer', () => v.hub()?.up === true);
  const extrasBefore = viewers.map((v) => v.extras.length);
  await new Promise((r) => setTimeout(r, 6_000));
  for (const [i, v] of viewers.entries()) {
    expect(v.hub()?.up).toBe(true);
    expect(v.extras.slice(extrasBefore[i]).filter((f) => f.t === 'h').every((f) => f.t === 'h' && f.up)).toBe(true);
    expect(Object.keys(v.uptime()).sort()).toEqual(['p1', 'p2']);
  }
  expect(hooks.filter((h) => h.view === SLUG)).toHaveLength(0);

  await forwarder.close();
  const closedAt = Date.now();
  for (const v of viewers) await waitFor('hub gone at every viewer', () => v.hub()?.up === false, 5_000);
  await waitFor('the firing notice', () => hooks.filter((h) => h.view === SLUG).length === 1, 15_000);
  // DEADMAN_AFTER_S after the hub was last heard — its last ping, not its last frame 6 s earlier.
  expect(Date.now() - closedAt).toBeGreaterThan(2_500);
  expect(hooks.filter((h) => h.view === SLUG)[0].kind).toBe('firing');

  forwarder = startForwarder(source);
  await waitFor('the resolved notice', () => hooks.filter((h) => h.view === SLUG).length === 2, 20_000);
  expect(hooks.filter((h) => h.view === SLUG).map((h) => h.kind)).toEqual(['firing', 'resolved']); // one notice per view, not per shard
  for (const v of viewers) await waitFor('hub up again at every viewer', () => v.hub()?.up === true, 5_000);
}, 60_000);
