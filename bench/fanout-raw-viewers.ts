// Lean viewers for bench/fanout.ts: raw TCP sockets that do the WebSocket handshake by hand and parse
// frames as a stream without assembling them (no `ws`, no copy of a payload beyond its first bytes),
// so one process holds thousands. Each viewer counts frames and bytes, reads a delta's "ts" (the
// forwarder's push time) from its first bytes, notes push → receipt, and acknowledges what it read as
// the dashboard does (durable-objects/viewer-lag.ts; payloads are ASCII, so bytes = characters).
// One viewer per process (the inspector) keeps whole deltas to count the machines in them.
// Laggards (a share of the viewers, `laggard` in the open command) read at a tenth of the rate the
// process's first normal viewer receives: their socket is paused whenever they are ahead of that.
// Same IPC as bench/fanout-viewers.ts:
//   ← {cmd:'open', url, count, concurrency, laggards} → {type:'opened', open, failed, ms, extensions: []}
//   ← {cmd:'begin'} / {cmd:'end'} → {type:'ended', ...ViewersEnded, laggards: {...}} / {cmd:'close'}
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LAG_FRAME, VIEWER_ACK_CHARS, VIEWER_ACK_FRAMES } from '../proto/viewer-ack.ts';
import type { ViewersEnded } from './fanout-viewers.ts';

export interface OpenRawViewers {
  cmd: 'open';
  url: string;
  count: number;
  concurrency: number;
  /** How many of these viewers read at a tenth of the speed. */
  laggards: number;
}

export interface LaggardCounts {
  laggards: number;
  /** Laggards that got the relay's {"t":"lag"} / whose socket the relay closed with 4408. */
  lagged: number;
  closedSlow: number;
  /** Normal viewers that were paused or closed (should stay 0). */
  normalLagged: number;
  normalClosed: number;
  /** Bytes every normal viewer received in the window (for KB/s per viewer). */
  normalBytes: number;
  normalViewers: number;
}

/** What the process itself adds to push → receipt: its event loop's delay in the window (a saturated
 *  viewer process reads late and inflates the figure), and why normal viewers closed. */
export interface RawViewerDiagnostics {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Normal viewers closed, by cause: `code <n>` (the relay's close frame), `eof` (the peer ended the
   *  TCP connection without one), `error <message>`; with when it happened (before/in the window). */
  closeCauses: Record<string, number>;
}

const DELTA_PREFIX = Buffer.from('{"t":"d"');
const LAG = Buffer.from(LAG_FRAME);
const TS = /"ts":(\d+)/;
const HEAD_BYTES = 48;

interface RawViewer {
  socket: Socket;
  laggard: boolean;
  inspector: boolean;
  // frame parser state
  header: Buffer;
  remaining: number;
  opcode: number;
  fin: boolean;
  head: Buffer[];
  headLength: number;
  messageBytes: number;
  whole: Buffer[] | null;
  // counts
  frames: number;
  bytes: number;
  framesAtAck: number;
  bytesAtAck: number;
  lastTs: number;
  lagged: boolean;
  closeCode: number | null;
  windowBytes: number;
  readStartMs: number;
  readBytes: number;
  resumeTimer: NodeJS.Timeout | null;
  /** When the socket data being parsed was handed to the process (the receipt time). */
  dataAtMs: number;
  cause: string | null;
}

const viewers: RawViewer[] = [];
let recording = false;
let byTs = new Map<number, number[]>();
let frames: Array<[number, number, number, number]> = [];
let payloadBytes = 0;
let wireBytes = 0;
let errors = 0;
let closed = 0;
/** Bytes per second the first normal viewer receives (rolling), which laggards read a tenth of. */
let pace: { atMs: number; bytes: number; rate: number } = { atMs: Date.now(), bytes: 0, rate: 0 };
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const closeCauses: Record<string, number> = {};
const send = (msg: unknown) => process.send!(msg);

function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  // Client frames must be masked; a zero key leaves the payload as it is (short frames only: < 126).
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

function endMessage(v: RawViewer): void {
  const now = v.dataAtMs;
  v.frames++;
  v.bytes += v.messageBytes;
  if (!v.laggard && v === pacer) {
    pace.bytes += v.messageBytes;
    if (now - pace.atMs >= 2000) pace = { atMs: now, bytes: 0, rate: (pace.bytes * 1000) / (now - pace.atMs) };
  }
  const head = v.head.length === 1 ? v.head[0] : Buffer.concat(v.head);
  const isLag = v.messageBytes === LAG.length && head.equals(LAG);
  if (isLag) v.lagged = true;
  if (isLag || v.frames - v.framesAtAck >= VIEWER_ACK_FRAMES || v.bytes - v.bytesAtAck >= VIEWER_ACK_CHARS) {
    v.framesAtAck = v.frames;
    v.bytesAtAck = v.bytes;
    if (!v.socket.destroyed) v.socket.write(maskedText(`{"t":"a","n":${v.frames},"c":${v.bytes}}`));
  }
  if (recording) {
    if (!v.laggard) v.windowBytes += v.messageBytes;
    payloadBytes += v.messageBytes;
    if (v.opcode === 1 && head.length >= DELTA_PREFIX.length && head.compare(DELTA_PREFIX, 0, DELTA_PREFIX.length, 0, DELTA_PREFIX.length) === 0) {
      const m = TS.exec(head.toString('latin1'));
      const ts = m ? Number(m[1]) : 0;
      if (ts > 0 && ts !== v.lastTs && !v.laggard) {
        v.lastTs = ts;
        let list = byTs.get(ts);
        if (!list) byTs.set(ts, (list = []));
        list.push(now - ts);
        if (v.inspector && v.whole) {
          const msg = JSON.parse(Buffer.concat(v.whole).toString()) as { u: unknown[][] };
          const fields = msg.u.reduce((n, u) => n + (u.length - 2) / 2, 0);
          frames.push([ts, v.messageBytes, msg.u.length, fields]);
        }
      }
    }
  }
  v.head = [];
  v.headLength = 0;
  v.messageBytes = 0;
  v.whole = v.inspector ? [] : null;
}

let pacer: RawViewer | null = null;

/** Feeds socket bytes through the frame parser. */
function onData(v: RawViewer, data: Buffer): void {
  // The receipt time is taken once per socket read, before any parsing: as early as the process can.
  v.dataAtMs = Date.now();
  if (recording) wireBytes += data.length;
  let chunk = data;
  let at = 0;
  while (at < chunk.length) {
    if (v.remaining === 0) {
      // Need a whole header: 2 bytes, + 2 or 8 for the length (server frames are not masked).
      const header = v.header.length ? Buffer.concat([v.header, chunk.subarray(at)]) : chunk.subarray(at);
      const b1 = header.length >= 2 ? header[1] & 0x7f : 0;
      const need = b1 === 126 ? 4 : b1 === 127 ? 10 : 2;
      if (header.length < need) {
        v.header = Buffer.from(header);
        return;
      }
      const len = b1 === 126 ? header.readUInt16BE(2) : b1 === 127 ? Number(header.readBigUInt64BE(2)) : b1;
      const op = header[0] & 0x0f;
      v.fin = (header[0] & 0x80) !== 0;
      if (op !== 0) v.opcode = op;
      v.header = Buffer.alloc(0);
      chunk = header.subarray(need);
      at = 0;
      v.remaining = len;
      if (len === 0) finishFrame(v);
      continue;
    }
    const take = Math.min(v.remaining, chunk.length - at);
    const part = chunk.subarray(at, at + take);
    at += take;
    v.remaining -= take;
    if (v.opcode === 8) {
      if (v.closeCode === null && part.length >= 2) v.closeCode = part.readUInt16BE(0);
    } else if (v.opcode === 1 || v.opcode === 2) {
      v.messageBytes += part.length;
      if (v.headLength < HEAD_BYTES) {
        const keep = part.subarray(0, HEAD_BYTES - v.headLength);
        v.head.push(Buffer.from(keep));
        v.headLength += keep.length;
      }
      if (v.whole) v.whole.push(Buffer.from(part));
    }
    if (v.remaining === 0) finishFrame(v);
  }
}

function finishFrame(v: RawViewer): void {
  if (v.opcode === 8) {
    if (!v.socket.destroyed) v.socket.end();
    return;
  }
  if (v.opcode === 9 || v.opcode === 10) {
    v.head = [];
    v.headLength = 0;
    v.messageBytes = 0;
    return;
  }
  if (v.fin) endMessage(v);
}

/** Laggards: read at a tenth of the pace, by pausing the socket when ahead. */
function throttle(v: RawViewer, chunkLength: number): void {
  v.readBytes += chunkLength;
  const rate = Math.max(256, pace.rate / 10);
  const allowed = ((Date.now() - v.readStartMs) / 1000) * rate;
  if (v.readBytes <= allowed || v.resumeTimer) return;
  v.socket.pause();
  const waitMs = Math.min(10_000, ((v.readBytes - allowed) / rate) * 1000);
  v.resumeTimer = setTimeout(() => {
    v.resumeTimer = null;
    if (!v.socket.destroyed) v.socket.resume();
  }, waitMs);
}

function openOne(url: string, laggard: boolean, inspector: boolean): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    socket.setNoDelay(true);
    let handshake: Buffer | null = Buffer.alloc(0);
    let settled = false;
    const v: RawViewer = {
      socket, laggard, inspector, header: Buffer.alloc(0), remaining: 0, opcode: 0, fin: true, head: [], headLength: 0, messageBytes: 0,
      whole: inspector ? [] : null, frames: 0, bytes: 0, framesAtAck: 0, bytesAtAck: 0, lastTs: 0, lagged: false, closeCode: null,
      windowBytes: 0, readStartMs: 0, readBytes: 0, resumeTimer: null, dataAtMs: 0, cause: null,
    };
    const noteClose = (cause: string) => {
      if (v.cause !== null || !settled || laggard) return;
      v.cause = cause;
      const key = `${cause} (${recording ? 'in the window' : 'before the window'})`;
      closeCauses[key] = (closeCauses[key] ?? 0) + 1;
    };
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (ok) {
        viewers.push(v);
        if (!laggard && pacer === null) pacer = v;
      }
      resolve(ok);
    };
    socket.on('connect', () => {
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (handshake !== null) {
        handshake = Buffer.concat([handshake, chunk]);
        const end = handshake.indexOf('\r\n\r\n');
        if (end < 0) return;
        const ok = handshake.subarray(0, 12).toString() === 'HTTP/1.1 101';
        const rest = handshake.subarray(end + 4);
        handshake = null;
        if (!ok) {
          errors++;
          socket.destroy();
          return done(false);
        }
        v.readStartMs = Date.now();
        done(true);
        if (rest.length) onData(v, rest);
        return;
      }
      onData(v, chunk);
      if (laggard) throttle(v, chunk.length);
    });
    socket.on('error', (err) => {
      errors++;
      noteClose(`error ${err.message.slice(0, 60)}`);
      done(false);
    });
    socket.on('end', () => noteClose(v.closeCode !== null ? `code ${v.closeCode}` : 'eof'));
    socket.on('close', () => {
      if (settled) closed++;
      noteClose(v.closeCode !== null ? `code ${v.closeCode}` : 'closed');
      done(false);
    });
    socket.setTimeout(30_000, () => {
      if (!settled) socket.destroy();
    });
  });
}

async function open(cmd: OpenRawViewers): Promise<void> {
  const t0 = Date.now();
  let ok = 0;
  let failed = 0;
  const pending: Promise<boolean>[] = [];
  for (let i = 0; i < cmd.count; i++) {
    // Laggards are spread evenly through the batch (so over the shards too).
    const laggard = cmd.laggards > 0 && Math.floor(((i + 1) * cmd.laggards) / cmd.count) > Math.floor((i * cmd.laggards) / cmd.count);
    pending.push(openOne(cmd.url, laggard, viewers.length === 0 && i === 0 && !laggard));
    if (pending.length >= cmd.concurrency) for (const r of await Promise.all(pending.splice(0))) r ? ok++ : failed++;
  }
  for (const r of await Promise.all(pending)) r ? ok++ : failed++;
  for (const v of viewers) v.socket.setTimeout(0);
  send({ type: 'opened', open: ok, failed, total: viewers.length, ms: Date.now() - t0, extensions: [] });
}

if (!process.send) {
  process.stderr.write('bench/fanout-raw-viewers.ts is started by bench/fanout.ts over IPC, not by hand\n');
  process.exit(2);
}
process.on('message', (msg: OpenRawViewers | { cmd: 'begin' | 'end' | 'close' }) => {
  if (msg.cmd === 'open') {
    open(msg).catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }));
  } else if (msg.cmd === 'begin') {
    byTs = new Map();
    frames = [];
    payloadBytes = 0;
    wireBytes = 0;
    for (const v of viewers) v.windowBytes = 0;
    loopDelay.reset();
    recording = true;
    send({ type: 'begun' });
  } else if (msg.cmd === 'end') {
    recording = false;
    const normal = viewers.filter((v) => !v.laggard);
    const lag = viewers.filter((v) => v.laggard);
    const laggards: LaggardCounts = {
      laggards: lag.length,
      lagged: lag.filter((v) => v.lagged).length,
      closedSlow: lag.filter((v) => v.closeCode === 4408).length,
      normalLagged: normal.filter((v) => v.lagged).length,
      normalClosed: normal.filter((v) => v.closeCode !== null || v.socket.destroyed).length,
      normalBytes: normal.reduce((n, v) => n + v.windowBytes, 0),
      normalViewers: normal.length,
    };
    const openCount = viewers.filter((v) => !v.socket.destroyed && v.closeCode === null).length;
    const diagnostics: RawViewerDiagnostics = { loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6, closeCauses };
    send({ type: 'ended', byTs: [...byTs], frames, payloadBytes, wireBytes, open: openCount, closed, errors, laggards, diagnostics } satisfies ViewersEnded & { laggards: LaggardCounts; diagnostics: RawViewerDiagnostics });
  } else if (msg.cmd === 'close') {
    for (const v of viewers) v.socket.destroy();
    process.send!({ type: 'closed' }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
