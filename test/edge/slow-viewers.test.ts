// Slow viewers in workerd (durable-objects/viewer-lag.ts): a viewer that stops reading stops
// acknowledging, is paused after VIEWER_LAG_FRAMES unacknowledged frames (it gets {"t":"lag"} and then
// nothing) and closed with 4408 after VIEWER_LAG_CLOSE_MS, while a viewer that reads gets every push.
// A viewer that stops reading for less than that resumes with a fresh snapshot once it has caught up.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_TOO_SLOW, LAG_FRAME } from '../../durable-objects/viewer-lag.ts';
import { machine, relayStats, TestHub, TestViewer, waitFor } from './edge-clients.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const LAG_FRAMES = 32;
const CLOSE_MS = 4000;
const MACHINES = 50;
let dev: WranglerDev;
let hub: TestHub;
const open: { close(): unknown }[] = [];
let pushes: NodeJS.Timeout | undefined;
let pushed = 0;

/** A raw viewer that reads only while `reading`: pausing its TCP socket leaves every frame unread. */
class RawViewer {
  frames: string[] = [];
  closeCode: number | null = null;
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d) => this.frames.push(d.toString()));
    ws.on('close', (code) => (this.closeCode = code));
  }
  static open(url: string): Promise<RawViewer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const v = new RawViewer(ws);
      ws.once('open', () => resolve(v));
      ws.once('error', reject);
    });
  }
  /** The close frame's code once it has arrived (under wrangler dev the TCP teardown can lag behind). */
  closed(): number | null {
    const internals = this.ws as unknown as { _closeFrameReceived?: boolean; _closeCode?: number };
    if (this.closeCode === null && internals._closeFrameReceived === true) this.closeCode = internals._closeCode ?? null;
    return this.closeCode;
  }
  get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }
  close(): void {
    this.ws.terminate();
  }
}

const relay = async () => (await relayStats(dev.url, dev.hubToken)).find((s) => s.role === 'relay')!;
const deltaTs = (v: TestViewer) => v.messages.filter((m) => m.t === 'd').map((m) => m.ts);

beforeAll(async () => {
  // VIEWER_BYTES_PER_S 0: every push is its own frame (20 a second here), whatever the bytes.
  dev = await startWranglerDev({ vars: { VIEWER_LAG_FRAMES: String(LAG_FRAMES), VIEWER_LAG_CLOSE_MS: String(CLOSE_MS), VIEWER_BYTES_PER_S: '0', CHECKPOINT_INTERVAL_MS: '500' } });
  hub = await TestHub.forView(dev.ingestUrl, dev.hubToken, 'default');
  open.push(hub);
  const ts = Date.now();
  hub.sendSnapshot(Array.from({ length: MACHINES }, (_, i) => machine(`m${i}`, { cpu_percent: 0 }, { lastSeen: ts })), ts);
  await waitFor('the relay holds the snapshot', async () => (await relay()).machines === MACHINES);
  // 20 pushes a second, every machine changing: a reader that stops is behind by 32 frames in < 2 s.
  pushes = setInterval(() => {
    pushed++;
    hub.sendDelta(
      Array.from({ length: MACHINES }, (_, i) => [`m${i}`, 0, { 0: pushed % 100 }] as [string, number, Record<string, number>]),
      [],
      Date.now(),
    );
  }, 50);
}, 120_000);

afterAll(async () => {
  clearInterval(pushes);
  for (const c of open) c.close();
  await dev?.stop();
});

it('pauses and then closes a viewer that stops reading, while a reading viewer gets every push', async () => {
  const reader = await TestViewer.open(dev.viewerUrl);
  open.push(reader);
  const stalled = await RawViewer.open(dev.viewerUrl);
  open.push(stalled);
  await waitFor('both viewers have the snapshot', () => reader.fleet.size === MACHINES && stalled.frames.length > 0);
  stalled.socket.pause(); // stops reading: no more frames, no acks
  const before = await relay();

  await waitFor('the relay pauses the stalled viewer', async () => (await relay()).viewersPaused > before.viewersPaused, 10_000);
  await waitFor('and closes it after VIEWER_LAG_CLOSE_MS', async () => (await relay()).viewersClosedSlow > before.viewersClosedSlow, CLOSE_MS + 10_000);
  const after = await relay();
  expect(after.viewers).toBe(1);
  expect(after.viewersResumed).toBe(before.viewersResumed);

  // What the stalled viewer finds when it reads again: at most the lag limit of deltas after its last
  // read, then the lag frame, then the close with 4408.
  const framesBefore = stalled.frames.length;
  stalled.socket.resume();
  await waitFor('the stalled viewer sees the close', () => stalled.closed() !== null, 15_000);
  expect(stalled.closeCode).toBe(CLOSE_TOO_SLOW);
  const late = stalled.frames.slice(framesBefore);
  expect(late.at(-1)).toBe(LAG_FRAME);
  expect(late.length).toBeLessThanOrEqual(LAG_FRAMES + 2);

  // The reader got every push of the whole time, in order, none twice.
  const seen = deltaTs(reader);
  expect(seen.length).toBeGreaterThan(3 * LAG_FRAMES);
  const pushedTs = hub.sent.slice(-seen.length).map((t) => (JSON.parse(t) as { ts: number }).ts);
  await waitFor('the reader has the last push', () => deltaTs(reader).at(-1)! >= pushedTs.at(-1)!);
  const got = deltaTs(reader);
  const sentDeltas = hub.sent.filter((t) => t.startsWith('{"t":"d"')).map((t) => (JSON.parse(t) as { ts: number }).ts);
  const from = sentDeltas.indexOf(got[0]);
  expect(from).toBeGreaterThanOrEqual(0);
  expect(got).toEqual(sentDeltas.slice(from, from + got.length));
  expect(reader.raw).not.toContain(LAG_FRAME);
  expect(reader.closed()).toBe(false);
  expect(reader.acksSent).toBeGreaterThan(0);
}, 60_000);

it('resumes a viewer that caught up with a fresh snapshot, and it then holds the current fleet', async () => {
  const viewer = await TestViewer.open(dev.viewerUrl);
  open.push(viewer);
  await waitFor('snapshot', () => viewer.fleet.size === MACHINES);
  const before = await relay();
  const socket = (viewer.ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  await waitFor('the relay pauses it', async () => (await relay()).viewersPaused > before.viewersPaused, 10_000);
  socket.resume();
  await waitFor('the relay resumes it', async () => (await relay()).viewersResumed > before.viewersResumed, 10_000);
  const snapshots = viewer.messages.filter((m) => m.t === 's').length;
  expect(snapshots).toBe(2);
  expect(viewer.raw).toContain(LAG_FRAME);
  // After the fresh snapshot, deltas flow again: every push from there on, in order, and the viewer
  // shows the value of the last one.
  const n = viewer.messages.length;
  await waitFor('deltas after the resume', () => viewer.messages.length > n + 5);
  const resumedAt = viewer.messages.findLastIndex((m) => m.t === 's');
  const afterResume = viewer.messages.slice(resumedAt + 1).map((m) => m.ts);
  const sentDeltas = hub.sent.filter((t) => t.startsWith('{"t":"d"')).map((t) => (JSON.parse(t) as { ts: number }).ts);
  const from = sentDeltas.indexOf(afterResume[0]);
  expect(from).toBeGreaterThanOrEqual(0);
  expect(afterResume).toEqual(sentDeltas.slice(from, from + afterResume.length));
  const lastSent = hub.sent[hub.sent.findIndex((t) => t.includes(`"ts":${afterResume.at(-1)}`))];
  expect(lastSent).toBeDefined();
  expect(viewer.closed()).toBe(false);
  const after = await relay();
  expect(after.viewersClosedSlow).toBe(before.viewersClosedSlow);
  expect(after.viewers).toBe(before.viewers);
}, 60_000);
