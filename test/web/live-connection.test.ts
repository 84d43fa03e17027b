// web/src/live-connection.ts on its own in a real browser (the module and the fleet store bundled
// into one page) against a local WebSocket server speaking the real wire format (proto/delta.ts
// encoder): a delta before the first snapshot and malformed frames change nothing; the snapshot makes
// the connection live; a drop is retried with backoff (the reason shown), at once on "online" or
// retryNow; a frame out of step closes with 4000 and starts over; on a relay (a `v` frame) the page
// acks every 16 frames and at once after `lag`, hands view frames to its hook, and stops for good on
// 4404; close() ends it with 1000 and no retry.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createFleetEncoder, type FleetEncoder, type MachineView } from '../../proto/delta.ts';
import { LAG_FRAME } from '../../proto/viewer-ack.ts';
import type { createFleetStore, FleetStore } from '../../web/src/fleet-store.ts';
import type { ConnectionState, connectLive, LiveConnection } from '../../web/src/live-connection.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, type GuardedPage } from '../support/dashboard-checks.ts';
import { modulePage } from './module-page.ts';

const hasChromium = existsSync(CHROMIUM_PATH);

interface LiveHarness {
  connectLive: typeof connectLive;
  createFleetStore: typeof createFleetStore;
  store?: FleetStore;
  conn?: LiveConnection;
  frames: unknown[];
  ended: Array<[number, string]>;
}
declare global {
  interface Window {
    live: LiveHarness;
  }
}

/** One connection the server accepted: what it sent and received, and how it closed. */
interface Viewer {
  ws: WebSocket;
  sent: string[];
  received: string[];
  closed?: { code: number; reason: string };
  openedAtMs: number;
  send(frame: string): void;
}

const machine = (id: string, cpu: number): MachineView => ({ id, name: id, host: `${id}.lan`, status: 'healthy', labels: {}, intervalMs: 1000, lastSeen: Date.now(), values: { cpu_percent: cpu } });

describe.skipIf(!hasChromium)('connectLive', () => {
  let browser: Browser;
  let html: string;
  let wss: WebSocketServer;
  let url: string;
  const viewers: Viewer[] = [];
  let onConnection: (v: Viewer) => void = () => {};
  let g: GuardedPage | undefined;

  beforeAll(async () => {
    html = await modulePage([
      "import { connectLive } from './live-connection.ts';",
      "import { createFleetStore } from './fleet-store.ts';",
      'window.live = { connectLive, createFleetStore, frames: [], ended: [] };',
    ]);
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
    wss.on('connection', (ws) => {
      const v: Viewer = {
        ws,
        sent: [],
        received: [],
        openedAtMs: Date.now(),
        send(frame) {
          v.sent.push(frame);
          ws.send(frame);
        },
      };
      ws.on('message', (data) => v.received.push(String(data)));
      ws.on('close', (code, reason) => (v.closed = { code, reason: String(reason) }));
      viewers.push(v);
      onConnection(v);
    });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of wss?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  });

  /** A fresh page connected to the server; returns the viewer count before it connected. */
  async function connect(): Promise<number> {
    const before = viewers.length;
    g = await openGuardedPage(browser, { viewport: { width: 800, height: 600 }, colorScheme: 'dark' });
    await g.page.setContent(html);
    await g.page.evaluate((u) => {
      const live = window.live;
      live.store = live.createFleetStore();
      live.conn = live.connectLive(live.store, u, { onViewFrame: (f) => live.frames.push(f), onEnded: (code, reason) => live.ended.push([code, reason]) });
    }, url);
    await expect.poll(() => viewers.length).toBe(before + 1);
    return before;
  }
  const state = () => g!.page.evaluate(() => window.live.conn!.state) as Promise<ConnectionState>;
  const cpuById = () => g!.page.evaluate(() => Object.fromEntries([...window.live.store!.machines.values()].map((m) => [m.id, m.values.cpu_percent ?? null])));
  async function done(): Promise<void> {
    const problems = g!.problems;
    await g!.close();
    g = undefined;
    expect(problems).toEqual([]);
  }

  test('a delta before the snapshot and malformed frames change nothing; the snapshot makes it live', async () => {
    // A delta on its own: it would add "early" if it were applied without a snapshot under it.
    onConnection = (v) => v.send(createFleetEncoder().delta([['early', 0, { '0': 99, n: 'early' }]], [], Date.now()));
    const before = await connect();
    const v = viewers[before];
    await expect.poll(() => v.sent.length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await cpuById()).toEqual({});
    expect((await state()).kind).toBe('connecting');
    const wire: FleetEncoder = createFleetEncoder();
    v.send(wire.snapshot([machine('a', 10), machine('b', 20)], Date.now()));
    await expect.poll(async () => (await state()).kind).toBe('live');
    expect(await cpuById()).toEqual({ a: 10, b: 20 });

    v.send(wire.delta([['a', 0, { '0': 77 }]], [], Date.now()));
    await expect.poll(cpuById).toEqual({ a: 77, b: 20 });
    v.send('not json');
    v.send('{"t":"d","ts":1,"u":"x"}');
    v.send('{"t":"s","ts":1,"m":[{"k":0}]}');
    for (let i = 0; i < 20; i++) v.send(wire.delta([['b', 0, { '0': 21 + i }]], [], Date.now()));
    await expect.poll(cpuById).toEqual({ a: 77, b: 40 });
    // Still the first connection, and nothing sent back: acks are for a relay only.
    expect(viewers.length).toBe(before + 1);
    expect(v.closed).toBeUndefined();
    expect(v.received).toEqual([]);
    await done();
  }, 60_000);

  test('a drop is retried with backoff; "online" and retryNow skip the wait; out of step starts over', async () => {
    let refuse = false;
    let wire = createFleetEncoder();
    onConnection = (v) => {
      if (refuse) return v.ws.close(1011, 'down for maintenance');
      wire = createFleetEncoder();
      v.send(wire.snapshot([machine('a', 10)], Date.now()));
    };
    const before = await connect();
    await expect.poll(async () => (await state()).kind).toBe('live');

    // Closed with a reason: waiting, the reason shown, the first retry within 250 … 500 ms.
    const closedAt = Date.now();
    viewers[before].ws.close(1012, 'restarting');
    await expect.poll(async () => (await state()).kind).toBe('waiting');
    const waiting = (await state()) as Extract<ConnectionState, { kind: 'waiting' }>;
    expect(waiting).toMatchObject({ attempt: 1, reason: 'restarting' });
    expect(waiting.retryAtMs - closedAt).toBeGreaterThanOrEqual(200);
    expect(waiting.retryAtMs - closedAt).toBeLessThanOrEqual(1000);
    await expect.poll(() => viewers.length).toBe(before + 2);
    expect(viewers[before + 1].openedAtMs - closedAt).toBeGreaterThanOrEqual(200);
    await expect.poll(async () => (await state()).kind).toBe('live');

    // Cut without a close frame: "connection lost". Then refused again and again: the wait grows.
    refuse = true;
    viewers[before + 1].ws.terminate();
    await expect.poll(async () => (await state()) as unknown).toMatchObject({ kind: 'waiting', attempt: 1, reason: 'connection lost' });
    await expect.poll(async () => (await state()) as unknown, { timeout: 10_000 }).toMatchObject({ kind: 'waiting', attempt: 3, reason: 'down for maintenance' });
    const third = (await state()) as Extract<ConnectionState, { kind: 'waiting' }>;
    // Attempt 3 waits 1 … 2 s; retryNow goes at once.
    let count = viewers.length;
    await g!.page.evaluate(() => window.live.conn!.retryNow());
    await expect.poll(() => viewers.length).toBe(count + 1);
    expect(third.retryAtMs - viewers.at(-1)!.openedAtMs).toBeGreaterThan(500);
    // Attempt 4 waits 2 … 4 s; the browser coming back online goes at once.
    await expect.poll(async () => (await state()) as unknown, { timeout: 10_000 }).toMatchObject({ kind: 'waiting', attempt: 4 });
    const fourth = (await state()) as Extract<ConnectionState, { kind: 'waiting' }>;
    refuse = false;
    count = viewers.length;
    await g!.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await expect.poll(() => viewers.length).toBe(count + 1);
    expect(fourth.retryAtMs - viewers.at(-1)!.openedAtMs).toBeGreaterThan(1500);
    await expect.poll(async () => (await state()).kind).toBe('live');

    // Live: retryNow does nothing.
    count = viewers.length;
    await g!.page.evaluate(() => window.live.conn!.retryNow());
    await new Promise((r) => setTimeout(r, 500));
    expect(viewers.length).toBe(count);

    // A delta naming a machine number never announced: the page closes with 4000 and starts over.
    const current = viewers.at(-1)!;
    current.send(JSON.stringify({ t: 'd', ts: Date.now(), u: [[99, 0, 0, 5]] }));
    await expect.poll(() => current.closed).toEqual({ code: 4000, reason: 'out of sync' });
    await expect.poll(() => viewers.length).toBe(count + 1);
    await expect.poll(async () => (await state()).kind).toBe('live');
    expect(await cpuById()).toEqual({ a: 10 });
    await done();
  }, 60_000);

  test('on a relay: acks every 16 frames and after lag, view frames to the hook, 4404 ends it', async () => {
    let wire = createFleetEncoder();
    onConnection = (v) => {
      wire = createFleetEncoder();
      v.send(JSON.stringify({ t: 'v', slug: 'status', title: 'Status', metrics: [0, 1] }));
      v.send(wire.snapshot([machine('a', 10)], Date.now()));
    };
    const before = await connect();
    const v = viewers[before];
    await expect.poll(async () => (await state()).kind).toBe('live');
    expect(await g!.page.evaluate(() => window.live.frames)).toEqual([{ t: 'v', slug: 'status', title: 'Status', metrics: [0, 1] }]);

    for (let i = 0; i < 14; i++) v.send(wire.delta([['a', 0, { '0': 11 + i }]], [], Date.now()));
    await expect.poll(cpuById).toEqual({ a: 24 });
    // 16 frames: the ack counts them and their characters.
    const chars = (frames: string[]) => frames.reduce((n, f) => n + f.length, 0);
    await expect.poll(() => v.received).toEqual([`{"t":"a","n":16,"c":${chars(v.sent.slice(0, 16))}}`]);
    // Two more frames: no ack yet. A hub-status frame goes to the hook; a bad view frame does not.
    v.send(JSON.stringify({ t: 'h', up: false, heard: 1000, now: 2000 }));
    v.send(JSON.stringify({ t: 'v', slug: '../x', title: 'X', metrics: [0] }));
    await expect.poll(() => g!.page.evaluate(() => window.live.frames.length)).toBe(2);
    expect(await g!.page.evaluate(() => window.live.frames[1])).toEqual({ t: 'h', up: false, heard: 1000, now: 2000 });
    expect(v.received).toHaveLength(1);
    // Paused by the relay: acked at once, whatever the count.
    v.send(LAG_FRAME);
    await expect.poll(() => v.received).toHaveLength(2);
    expect(v.received[1]).toBe(`{"t":"a","n":19,"c":${chars(v.sent)}}`);

    // Revoked: the hook hears it and the page does not come back.
    v.ws.close(4404, 'view revoked');
    await expect.poll(() => g!.page.evaluate(() => window.live.ended)).toEqual([[4404, 'view revoked']]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(viewers.length).toBe(before + 1);
    expect((await state()).kind).toBe('live');
    await done();
  }, 60_000);

  test('close() ends the connection with 1000 and never retries', async () => {
    onConnection = (v) => v.send(createFleetEncoder().snapshot([machine('a', 10)], Date.now()));
    const before = await connect();
    await expect.poll(async () => (await state()).kind).toBe('live');
    await g!.page.evaluate(() => window.live.conn!.close());
    await expect.poll(() => viewers[before].closed).toEqual({ code: 1000, reason: 'page closed' });
    await g!.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await new Promise((r) => setTimeout(r, 1000));
    expect(viewers.length).toBe(before + 1);
    expect(await g!.page.evaluate(() => window.live.ended)).toEqual([]);
    await done();
  }, 60_000);
});
