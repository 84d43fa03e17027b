// A process holding many `ws` viewers of the relay for bench/fanout.ts, so the receiving side is spread
// over a few processes and is not what limits the measurement. Each viewer only reads the frame's
// "ts" (the hub's push time) from the first bytes of a delta and notes push → receipt; one viewer per
// process (the inspector) parses every delta fully to count the machines in it. Driven over IPC:
//   ← {cmd:'open', url, count, concurrency, deflate} → {type:'opened', open, failed, ms, extensions}
//   ← {cmd:'begin'}  clears what was recorded and records from now on
//   ← {cmd:'end'}    → {type:'ended', byTs: [[ts, latencies[]]...], frames: [[ts, bytes, updates, fields]...], payloadBytes, wireBytes, open, closed, errors}
//   ← {cmd:'close'}  terminates every socket and exits.
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { LAG_FRAME, VIEWER_ACK_CHARS, VIEWER_ACK_FRAMES } from '../proto/viewer-ack.ts';

export interface OpenViewers {
  cmd: 'open';
  url: string;
  count: number;
  concurrency: number;
  deflate: boolean;
}

export interface ViewersEnded {
  type: 'ended';
  /** Push time → receipt latencies (ms), one per viewer that got that push. */
  byTs: Array<[ts: number, latenciesMs: number[]]>;
  /** From the inspector: each delta's bytes, machines updated in it, and fields changed. */
  frames: Array<[ts: number, bytes: number, updates: number, fields: number]>;
  payloadBytes: number;
  wireBytes: number;
  open: number;
  closed: number;
  errors: number;
}

interface Viewer {
  ws: WebSocket;
  lastTs: number;
  inspector: boolean;
  /** Frames and bytes read, and at the last ack (acks as the dashboard does; payloads are ASCII). */
  frames: number;
  bytes: number;
  framesAtAck: number;
  bytesAtAck: number;
}

function ack(v: Viewer, data: Buffer): void {
  v.frames++;
  v.bytes += data.length;
  const lag = data.length === LAG_FRAME.length && data.toString() === LAG_FRAME;
  if (!lag && v.frames - v.framesAtAck < VIEWER_ACK_FRAMES && v.bytes - v.bytesAtAck < VIEWER_ACK_CHARS) return;
  v.framesAtAck = v.frames;
  v.bytesAtAck = v.bytes;
  if (v.ws.readyState === WebSocket.OPEN) v.ws.send(`{"t":"a","n":${v.frames},"c":${v.bytes}}`);
}

const viewers: Viewer[] = [];
let recording = false;
let byTs = new Map<number, number[]>();
let frames: Array<[number, number, number, number]> = [];
let payloadBytes = 0;
let wireAtBegin = 0;
let closed = 0;
let errors = 0;
const extensions = new Set<string>();
const send = (msg: unknown) => process.send!(msg);
const DELTA_PREFIX = Buffer.from('{"t":"d"');
const TS = /"ts":(\d+)/;

const bytesReadOf = (ws: WebSocket) => (ws as unknown as { _socket?: Socket })._socket?.bytesRead ?? 0;
const wireBytes = () => viewers.reduce((n, v) => n + bytesReadOf(v.ws), 0);

function onMessage(v: Viewer, data: Buffer): void {
  const now = Date.now();
  if (!recording) return;
  payloadBytes += data.length;
  if (data.length < DELTA_PREFIX.length || data.compare(DELTA_PREFIX, 0, DELTA_PREFIX.length, 0, DELTA_PREFIX.length) !== 0) return;
  const m = TS.exec(data.toString('latin1', 0, 48));
  if (!m) return;
  const ts = Number(m[1]);
  if (ts === v.lastTs) return; // a relay sweep reuses the last push time: not a push
  v.lastTs = ts;
  let list = byTs.get(ts);
  if (!list) byTs.set(ts, (list = []));
  list.push(now - ts);
  if (v.inspector) {
    const msg = JSON.parse(data.toString()) as { u: unknown[][] };
    const fields = msg.u.reduce((n, u) => n + (u.length - 2) / 2, 0);
    frames.push([ts, data.length, msg.u.length, fields]);
  }
}

function openOne(url: string, deflate: boolean, inspector: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate, handshakeTimeout: 30_000 });
    const v: Viewer = { ws, lastTs: 0, inspector, frames: 0, bytes: 0, framesAtAck: 0, bytesAtAck: 0 };
    let settled = false;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      ack(v, data);
      if (!settled) {
        // The first frame is the snapshot: the viewer is in.
        settled = true;
        viewers.push(v);
        if (ws.extensions) extensions.add(ws.extensions);
        resolve(true);
        return;
      }
      if (!isBinary) onMessage(v, data);
    });
    ws.on('error', () => {
      errors++;
      if (!settled) {
        settled = true;
        resolve(false);
      }
    });
    ws.on('close', () => {
      if (settled) closed++;
    });
  });
}

async function open(cmd: OpenViewers): Promise<void> {
  const t0 = Date.now();
  let ok = 0;
  let failed = 0;
  const pending: Promise<boolean>[] = [];
  for (let i = 0; i < cmd.count; i++) {
    pending.push(openOne(cmd.url, cmd.deflate, viewers.length === 0 && i === 0));
    if (pending.length >= cmd.concurrency) {
      for (const r of await Promise.all(pending.splice(0))) r ? ok++ : failed++;
    }
  }
  for (const r of await Promise.all(pending)) r ? ok++ : failed++;
  send({ type: 'opened', open: ok, failed, total: viewers.length, ms: Date.now() - t0, extensions: [...extensions] });
}

if (!process.send) {
  process.stderr.write('bench/fanout-viewers.ts is started by bench/fanout.ts over IPC, not by hand\n');
  process.exit(2);
}
process.on('message', (msg: OpenViewers | { cmd: 'begin' | 'end' | 'close' }) => {
  if (msg.cmd === 'open') {
    open(msg).catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }));
  } else if (msg.cmd === 'begin') {
    byTs = new Map();
    frames = [];
    payloadBytes = 0;
    wireAtBegin = wireBytes();
    recording = true;
    send({ type: 'begun' });
  } else if (msg.cmd === 'end') {
    recording = false;
    const open = viewers.filter((v) => v.ws.readyState === WebSocket.OPEN).length;
    send({ type: 'ended', byTs: [...byTs], frames, payloadBytes, wireBytes: wireBytes() - wireAtBegin, open, closed, errors } satisfies ViewersEnded);
  } else if (msg.cmd === 'close') {
    for (const v of viewers) v.ws.terminate();
    process.send!({ type: 'closed' }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
