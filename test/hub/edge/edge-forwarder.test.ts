// The hub's edge forwarder against a real local `ws` server standing in for the relay: bearer header,
// snapshot after every (re)connect, coalesced deltas at most once per interval, reconnect with backoff
// when the edge comes back, and no cost to the caller while the edge is down.
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FleetFrame } from '../../../proto/delta.ts';
import { createEdgeForwarder, type EdgeForwarder } from '../../../hub/edge/edge-forwarder.ts';
import { freePort } from '../../support/servers.ts';
import { FleetMirror, machine, MemoryFleetSource, waitFor } from '../../edge/edge-clients.ts';

const log = pino({ level: 'silent' });
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fake relay: records frames, the Authorization header and the URL of each connection. It announces
 *  one shard as the Worker does (X-Relay-Shards), unless `announce` is null (a Worker older than that). */
function fakeRelay(port: number, announce: string | null = '1') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const frames: FleetFrame[] = [];
  const auth: (string | undefined)[] = [];
  const urls: string[] = [];
  const sockets: WebSocket[] = [];
  const fleet = new FleetMirror();
  if (announce !== null) wss.on('headers', (headers) => headers.push(`X-Relay-Shards: ${announce}`));
  wss.on('connection', (ws, req) => {
    auth.push(req.headers.authorization);
    urls.push(req.url ?? '');
    sockets.push(ws);
    ws.on('message', (d) => {
      const text = d.toString();
      if (text === 'ping') return void ws.send('pong');
      frames.push(fleet.apply(text));
    });
  });
  const close = async () => {
    for (const s of wss.clients) s.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  };
  return { wss, frames, auth, urls, sockets, fleet, close };
}

function start(port: number, source: MemoryFleetSource, pushIntervalMs = 100): EdgeForwarder {
  const f = createEdgeForwarder({ url: `ws://127.0.0.1:${port}/ingest`, apiKey: 'k3y', pushIntervalMs, source, log, backoff: { baseMs: 50, maxMs: 200 } });
  cleanups.push(() => f.close());
  f.start();
  return f;
}

it('sends the bearer key, a snapshot first, then coalesced deltas with only what changed', async () => {
  const port = await freePort();
  const relay = fakeRelay(port);
  cleanups.push(relay.close);
  const source = new MemoryFleetSource();
  source.set(machine('a', { cpu_percent: 1 }, { lastSeen: 1 }));
  source.set(machine('b', { cpu_percent: 2 }, { lastSeen: 1 }));
  const f = start(port, source, 300);
  await waitFor('snapshot', () => relay.frames.length === 1);
  expect(relay.auth).toEqual(['Bearer k3y']);
  expect(relay.frames[0]).toMatchObject({ t: 's', machines: [{ id: 'a' }, { id: 'b' }] });
  for (let i = 1; i <= 50; i++) source.set(machine('a', { cpu_percent: i }, { lastSeen: 1 + i }));
  await waitFor('one coalesced delta', () => relay.frames.length === 2);
  await new Promise((r) => setTimeout(r, 400));
  expect(relay.frames).toHaveLength(2); // nothing changed since: nothing sent
  const delta = relay.frames[1];
  expect(delta.t).toBe('d');
  if (delta.t === 'd') {
    expect(delta.updates).toHaveLength(1); // "b" did not change
    expect(delta.updates[0][0]).toBe('a');
    expect(delta.updates[0][2]).toEqual({ 0: 50 });
  }
  expect(f.stats()).toMatchObject({ connected: true, snapshotsSent: 1, deltasSent: 1, pendingMachines: 0 });
});

it('keeps the caller fast while the edge is down, then reconnects and resends a full snapshot', async () => {
  const port = await freePort();
  const source = new MemoryFleetSource();
  const f = start(port, source); // nothing listens yet
  const t0 = performance.now();
  for (let round = 0; round < 20; round++) for (let i = 0; i < 500; i++) source.set(machine(`m${i}`, { cpu_percent: round }));
  expect(performance.now() - t0).toBeLessThan(1_000); // 10,000 changes: only map writes
  await waitFor('a failed connection', () => f.stats().lastError !== null);
  expect(f.stats()).toMatchObject({ connected: false, pendingMachines: 500 }); // bounded: one entry per machine

  const relay = fakeRelay(port);
  cleanups.push(relay.close);
  await waitFor('reconnected with a snapshot', () => relay.frames[0]?.t === 's' && relay.fleet.size === 500, 5_000);
  expect(relay.fleet.get('m7')?.values.cpu_percent).toBe(19);

  // the edge drops the connection: the forwarder comes back with a fresh snapshot
  source.set(machine('m1', { cpu_percent: 77 }));
  relay.sockets[0].terminate();
  await waitFor('second connection', () => relay.auth.length === 2, 5_000);
  await waitFor('second snapshot', () => relay.frames.filter((m) => m.t === 's').length === 2);
  expect(relay.fleet.get('m1')?.values.cpu_percent).toBe(77);
  expect(f.stats().connects).toBe(2);

  await f.close();
  await f.close(); // idempotent
  await waitFor('closed', () => relay.wss.clients.size === 0);
  expect(source.listenerCount).toBe(0);
});

it('answers a resync request from the relay with a fresh snapshot', async () => {
  const port = await freePort();
  const relay = fakeRelay(port);
  cleanups.push(relay.close);
  const source = new MemoryFleetSource();
  source.set(machine('a', { cpu_percent: 1 }));
  const f = start(port, source);
  await waitFor('first snapshot', () => relay.frames.length === 1);
  // What a restarted relay answers to a delta with machine numbers it no longer knows.
  relay.sockets[0].send(JSON.stringify({ t: 'e', error: 'invalid fleet message: unknown machine number 0; a new snapshot is needed', resync: true }));
  await waitFor('second snapshot on the same connection', () => relay.frames.filter((m) => m.t === 's').length === 2);
  expect(f.stats()).toMatchObject({ connects: 1, snapshotsSent: 2, resyncs: 1 });
  // an ordinary error frame is only counted
  relay.sockets[0].send(JSON.stringify({ t: 'e', error: 'frame too large' }));
  await waitFor('counted', () => f.stats().edgeErrors === 2);
  expect(f.stats().snapshotsSent).toBe(2);
});

it('refuses a bad URL or an empty key at creation', () => {
  const source = new MemoryFleetSource();
  expect(() => createEdgeForwarder({ url: 'http://x', apiKey: 'k', pushIntervalMs: 1000, source, log })).toThrow(/ws:\/\/ or wss:\/\//);
  expect(() => createEdgeForwarder({ url: 'wss://x', apiKey: '', pushIntervalMs: 1000, source, log })).toThrow(/EDGE_API_KEY/);
});

it('opens one socket per shard the relay announces, shares every delta, and resyncs one shard alone', async () => {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  cleanups.push(() => new Promise<void>((r) => { for (const s of wss.clients) s.terminate(); wss.close(() => r()); }));
  let announce = '3';
  wss.on('headers', (headers) => headers.push(`X-Relay-Shards: ${announce}`));
  const byShard = new Map<number, { ws: WebSocket; fleet: FleetMirror; frames: FleetFrame[]; raw: string[] }>();
  wss.on('connection', (ws, req) => {
    const shard = Number(new URL(req.url!, 'ws://x').searchParams.get('shard'));
    const entry = { ws, fleet: new FleetMirror(), frames: [] as FleetFrame[], raw: [] as string[] };
    byShard.set(shard, entry);
    ws.on('message', (d) => {
      const text = d.toString();
      if (text === 'ping') return void ws.send('pong');
      entry.raw.push(text);
      entry.frames.push(entry.fleet.apply(text));
    });
  });
  const source = new MemoryFleetSource();
  source.set(machine('a', { cpu_percent: 1 }));
  const f = start(port, source);
  await waitFor('three shard sockets', () => f.stats().shardsConnected === 3);
  expect([...byShard.keys()].sort()).toEqual([0, 1, 2]);
  expect(f.stats()).toMatchObject({ shards: 3, connected: true });
  source.set(machine('b', { cpu_percent: 2 }));
  await waitFor('the delta on every shard', () => [...byShard.values()].every((s) => s.fleet.get('b')?.values.cpu_percent === 2));
  // shard 1 restarted and lost the numbering: only it gets a snapshot, then every shard the next delta
  const s1 = byShard.get(1)!;
  s1.ws.send(JSON.stringify({ t: 'e', error: 'unknown machine number 1; a new snapshot is needed', resync: true }));
  await waitFor('shard 1 resynced', () => s1.frames.filter((m) => m.t === 's').length === 2);
  expect([0, 2].map((i) => byShard.get(i)!.frames.filter((m) => m.t === 's').length)).toEqual([1, 1]);
  const resyncAt = s1.raw.length - 1;
  source.set(machine('c', { cpu_percent: 3 }));
  await waitFor('the next delta on every shard', () => [...byShard.values()].every((s) => s.fleet.get('c')?.values.cpu_percent === 3));
  // what shard 1 got from the resync on stands on its own: a relay that starts from it holds everything
  const fresh = new FleetMirror();
  for (const text of s1.raw.slice(resyncAt)) fresh.apply(text);
  expect([...fresh.values()].map((m) => [m.id, m.values.cpu_percent])).toEqual([['a', 1], ['b', 2], ['c', 3]]);
  // the relay has one shard now: the others are closed and not reopened
  announce = '1';
  byShard.get(0)!.ws.terminate();
  await waitFor('one socket left', () => f.stats().shards === 1 && f.stats().connected, 5_000);
  await waitFor('extra shards closed', () => wss.clients.size === 1, 5_000);
  await new Promise((r) => setTimeout(r, 400));
  expect(wss.clients.size).toBe(1);
});

it('uses one socket without &shard when the relay does not announce its shard count, and goes back once it does', async () => {
  const port = await freePort();
  let relay = fakeRelay(port, null);
  const source = new MemoryFleetSource();
  source.set(machine('a', { cpu_percent: 1 }));
  const f = start(port, source);
  await waitFor('a snapshot on the plain URL', () => relay.frames.length === 1);
  // The first try names shard 0; a relay that says nothing gets the plain URL (an older Worker routes it
  // to its coordinator, which reaches every shard).
  expect(relay.urls).toEqual(['/ingest?shard=0', '/ingest']);
  expect(f.stats()).toMatchObject({ shards: 1, connected: true, connects: 1 });
  await relay.close();
  relay = fakeRelay(port, '1');
  cleanups.push(relay.close);
  await waitFor('back on shard 0 with a snapshot', () => relay.frames.length === 1 && relay.urls.includes('/ingest?shard=0'), 5_000);
  expect(relay.urls.at(-1)).toBe('/ingest?shard=0');
  expect(relay.wss.clients.size).toBe(1);
});
