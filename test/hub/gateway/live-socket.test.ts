// hub/gateway/live-socket.ts: WS /ws on a real node:http server (127.0.0.1, a spare port) with a real
// fleet view (memory state and event bus) and real `ws` viewers: a snapshot first, then shared deltas
// with only what changed (the same bytes for every viewer) and removals of forgotten machines; a
// newcomer is brought up to date without disturbing the others; the handshake refusals (404 path, 403
// admit, 401 authorize, 503 too many viewers, 429 too many from one address, each with a JSON body);
// read-only: a flood closes with 1008, a frame over 4 KiB with 1009; close() ends viewers with 1001.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createFleetView, type FleetView } from '../../../hub/fleet/fleet-view.ts';
import { attachLiveSocket, MAX_VIEWER_FRAME_BYTES, VIEWER_MESSAGES_PER_WINDOW, type LiveSocket, type LiveSocketDeps } from '../../../hub/gateway/live-socket.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';
import type { MachineRecord } from '../../../hub/state/state-store.ts';
import type { EventBus } from '../../../hub/events/event-bus.ts';
import { summarize } from '../../../proto/metrics.ts';
import { FleetMirror } from '../../edge/edge-clients.ts';
import { waitFor } from '../../support/servers.ts';
import { syntheticReport } from '../../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });

function record(id: string, seq: number, cpu: number): MachineRecord {
  const t = Date.now();
  return { id, hostname: id, displayName: id, labels: {}, lastSeenMs: t, sampledAtMs: t, lastSeq: seq, intervalMs: 1000, metrics: summarize(syntheticReport(id, seq, t, cpu)) };
}

interface Rig {
  server: Server;
  live: LiveSocket;
  fleet: FleetView;
  events: EventBus;
  url: string;
}
const rigs: Rig[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const r of rigs.splice(0)) {
    await r.live.close();
    r.fleet.close();
    await new Promise((resolve) => r.server.close(resolve));
  }
});

async function rig(over: Partial<LiveSocketDeps> = {}, preload: MachineRecord[] = []): Promise<Rig> {
  const state = createMemoryState();
  for (const r of preload) await state.put(r, new Uint8Array());
  const events = createMemoryEvents(log);
  const fleet = await createFleetView({ state, events, log });
  const server = createServer((_req, res) => res.writeHead(426).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const live = attachLiveSocket(server, { fleet, pushIntervalMs: 30, log, ...over });
  const r = { server, live, fleet, events, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
  rigs.push(r);
  return r;
}

/** A viewer that keeps every frame and mirrors the fleet. */
async function viewer(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${url}/ws`, { headers });
  sockets.push(ws);
  const frames: string[] = [];
  const mirror = new FleetMirror();
  let closed: { code: number } | undefined;
  ws.on('message', (d) => {
    frames.push(d.toString());
    mirror.apply(d.toString());
  });
  ws.on('close', (code) => (closed = { code }));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, frames, mirror, closed: () => closed };
}

/** The status and JSON body of a refused handshake. */
function refusal(url: string, path = '/ws', headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}${path}`, { headers });
    sockets.push(ws);
    ws.once('open', () => reject(new Error('the handshake was accepted')));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? (JSON.parse(text) as unknown) : undefined, retryAfter: res.headers['retry-after'] }));
    });
    ws.once('error', () => {});
  });
}

describe('WS /ws on the hub', () => {
  test('a snapshot, then one shared delta per interval with what changed, and removals', async () => {
    const { url, events } = await rig({}, [record('ls-a', 1, 10), record('ls-b', 1, 20)]);
    const one = await viewer(url);
    const two = await viewer(url);
    await waitFor('both snapshots', () => one.mirror.size === 2 && two.mirror.size === 2);
    expect(JSON.parse(one.frames[0]).t).toBe('s');

    const before = [one.frames.length, two.frames.length];
    await events.publish({ record: record('ls-a', 2, 77), receivedAtMs: Date.now() });
    await waitFor('the change at both viewers', () => one.mirror.get('ls-a')?.values.cpu_percent === 77 && two.mirror.get('ls-a')?.values.cpu_percent === 77);
    const deltasOne = one.frames.slice(before[0]);
    const deltasTwo = two.frames.slice(before[1]);
    expect(deltasOne.every((f) => JSON.parse(f).t === 'd')).toBe(true);
    // Only what changed: ls-b is not in the delta; the same bytes for every viewer.
    expect(deltasOne).toHaveLength(1);
    expect((JSON.parse(deltasOne[0]) as { u: unknown[] }).u).toHaveLength(1);
    expect(deltasTwo).toEqual(deltasOne);
    expect(one.mirror.get('ls-b')!.values.cpu_percent).toBe(20);

    // Nothing changes: no frames.
    const quiet = one.frames.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(one.frames.length).toBe(quiet);

    // A newcomer gets the fleet as it is now; the others stay consistent.
    await events.publish({ record: record('ls-c', 1, 5), receivedAtMs: Date.now() });
    const three = await viewer(url);
    await waitFor('ls-c everywhere', () => [one, two, three].every((v) => v.mirror.has('ls-c')));
    expect([...three.mirror.keys()].sort()).toEqual(['ls-a', 'ls-b', 'ls-c']);
    expect(three.mirror.get('ls-a')!.values.cpu_percent).toBe(77);

    // Forgotten: removed from every viewer in the next delta.
    await events.publish({ record: record('ls-b', 1, 20), receivedAtMs: Date.now(), forgotten: true });
    await waitFor('ls-b removed', () => [one, two, three].every((v) => !v.mirror.has('ls-b')));
  });

  test('handshake refusals with a status and a JSON body', async () => {
    const plain = await rig({ maxViewers: 2, maxViewersPerAddress: 1 });
    expect((await refusal(plain.url, '/elsewhere')).status).toBe(404);
    await viewer(plain.url);
    const perAddress = await refusal(plain.url);
    expect(perAddress).toMatchObject({ status: 429, retryAfter: '10', body: { error: expect.stringMatching(/at most 1/) } });

    const full = await rig({ maxViewers: 1 });
    await viewer(full.url);
    expect(await refusal(full.url)).toMatchObject({ status: 503, retryAfter: '10', body: { error: expect.stringMatching(/too many viewers \(at most 1\)/) } });

    const guarded = await rig({
      admit: (req) => (req.headers.origin === 'http://evil.example' ? 'cross-site' : undefined),
      authorize: (req) => req.headers.authorization === 'Bearer letmein',
    });
    expect(await refusal(guarded.url, '/ws', { origin: 'http://evil.example' })).toMatchObject({ status: 403, body: { error: 'cross-site' } });
    expect(await refusal(guarded.url)).toMatchObject({ status: 401, body: { error: expect.stringMatching(/DASHBOARD_TOKEN/) } });
    const ok = await viewer(guarded.url, { authorization: 'Bearer letmein' });
    expect(ok.ws.readyState).toBe(WebSocket.OPEN);
    expect(guarded.live.viewers).toBe(1);
  });

  test('read-only: a flood closes with 1008, a frame over 4 KiB with 1009; close() ends viewers with 1001', async () => {
    const r = await rig();
    const flooder = await viewer(r.url);
    for (let i = 0; i <= VIEWER_MESSAGES_PER_WINDOW; i++) flooder.ws.send('hi');
    await waitFor('flood closed', () => flooder.closed());
    expect(flooder.closed()!.code).toBe(1008);

    const big = await viewer(r.url);
    big.ws.send('x'.repeat(MAX_VIEWER_FRAME_BYTES + 1));
    await waitFor('big frame closed', () => big.closed());
    expect(big.closed()!.code).toBe(1009);

    const polite = await viewer(r.url);
    for (let i = 0; i < 3; i++) polite.ws.send('hello?');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(polite.closed()).toBeUndefined();
    await r.live.close();
    await waitFor('closed by the hub', () => polite.closed());
    expect(polite.closed()!.code).toBe(1001);
  });
});
