// The hub's edge forwarder for one public view: one persistent, authenticated WebSocket to the public
// relay (the Worker's /ingest?view=<slug>). After every (re)connect it sends the view's config frame,
// then a full snapshot (in parts when larger than the frame limit), then at most one coalesced delta per
// push interval carrying only what changed since the previous push (several complete deltas when one
// would pass the limit). A frame the relay refuses never starts a resend loop: the fresh snapshot it
// may ask for waits an exponential, capped backoff, each distinct error is logged once, and
// refusals are counted (sysmonstm_hub_edge_frames_refused_total). It never slows the hub: change
// notifications only update an in-memory map (the latest view per machine, so memory is bounded by
// the fleet size), and when the edge is down nothing queues up — the next connection starts from a
// fresh snapshot. Reconnects use exponential backoff with full jitter.
import WebSocket from 'ws';
import type { MachineView } from '../../proto/delta.ts';
import { decodeRelayError } from '../../proto/view-frames.ts';
import { createDeltaCoalescer, snapshotFrames } from '../fleet/delta-coalescer.ts';
import type { Logger } from '../log.ts';
import { fullJitterDelayMs, type BackoffOptions } from './backoff.ts';
import type { FleetSource } from './fleet-source.ts';

export interface EdgeForwarderOptions {
  /** ws:// or wss:// URL of the relay's ingest endpoint, e.g. wss://name.workers.dev/ingest */
  url: string;
  apiKey: string;
  pushIntervalMs: number;
  source: FleetSource;
  log: Logger;
  /** The view's config frame ({"t":"c",…}), sent first on every connect and by reconfigure(). */
  configFrame?: () => string;
  /** Largest frame sent (EDGE_MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
  backoff?: BackoffOptions;
  /** A push is skipped (and coalesced into the next) while more than this is unsent on the socket. */
  maxBufferedBytes?: number;
  /** Application-level "ping" interval; a socket that did not answer the previous ping is dropped. */
  heartbeatMs?: number;
  handshakeTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
}

export interface EdgeForwarderStats {
  connected: boolean;
  connects: number;
  disconnects: number;
  snapshotsSent: number;
  deltasSent: number;
  bytesSent: number;
  /** Pushes postponed because the socket was still busy sending earlier frames. */
  skippedPushes: number;
  /** Machines changed since the last push. */
  pendingMachines: number;
  /** Age of the oldest change the edge has not been sent yet (0 when it is up to date): the forward lag. */
  lagMs: number;
  /** Error frames the relay sent back (a rejected frame). */
  edgeErrors: number;
  /** Frames the relay refused (every error frame, a resync request included). */
  framesRefused: number;
  /** Snapshot frames sent (a snapshot in parts counts each part). */
  snapshotPartsSent: number;
  configsSent: number;
  /** Snapshots resent because the relay asked for one (it restarted and lost the machine numbering). */
  resyncs: number;
  lastError: string | null;
}

export interface EdgeForwarder {
  start(): void;
  close(): Promise<void>;
  stats(): EdgeForwarderStats;
  /** Sends the config frame again (the view's title, access or link secret changed). */
  reconfigure(): void;
  /** Starts over with the config frame and a fresh snapshot (the view's selection or shown fields changed). */
  resnapshot(): void;
}

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** A connection that stayed up this long without a refusal resets the reconnect backoff. */
const STABLE_CONNECTION_MS = 30_000;

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 500, maxMs: 30_000 });
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 20_000;
const CLOSE_WAIT_MS = 2_000;

/** The error text of a relay's refusal ({"t":"e","error":…}), or the raw reply, shortened. */
function refusalText(text: string): string {
  return (decodeRelayError(text)?.error ?? text).slice(0, 300);
}

/** An error frame from the relay ({"t":"e","error":…,"resync":true}) that asks for a new snapshot. */
function asksForResync(text: string): boolean {
  return decodeRelayError(text)?.resync === true;
}

export function createEdgeForwarder(options: EdgeForwarderOptions): EdgeForwarder {
  if (!/^wss?:\/\//.test(options.url)) throw new Error(`EDGE_URL must start with ws:// or wss:// (got "${options.url}")`);
  if (options.apiKey.length === 0) throw new Error('EDGE_API_KEY must not be empty');
  if (!(options.pushIntervalMs > 0)) throw new Error(`pushIntervalMs must be positive (got ${options.pushIntervalMs})`);
  const { source, log } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;

  const latest = new Map<string, MachineView>();
  const coalescer = createDeltaCoalescer();
  /** When the oldest change not yet sent was noticed (undefined: the edge has everything). */
  let pendingSinceMs: number | undefined;
  const stats: Omit<EdgeForwarderStats, 'pendingMachines' | 'lagMs'> = {
    connected: false,
    connects: 0,
    disconnects: 0,
    snapshotsSent: 0,
    deltasSent: 0,
    bytesSent: 0,
    skippedPushes: 0,
    edgeErrors: 0,
    framesRefused: 0,
    snapshotPartsSent: 0,
    configsSent: 0,
    resyncs: 0,
    lastError: null,
  };

  let socket: WebSocket | undefined;
  let attempt = 0;
  let started = false;
  let closed = false;
  let awaitingPong = false;
  let unsubscribe: (() => void) | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  /** Refusals in a row (reset by a quiet, stable connection): the exponent of the resend backoff. */
  let refusalStreak = 0;
  let lastRefusalMs = 0;
  let openedAtMs = 0;
  const errorsLogged = new Set<string>();

  const send = (ws: WebSocket, text: string) => {
    ws.send(text);
    stats.bytesSent += Buffer.byteLength(text);
  };

  const sendConfig = (ws: WebSocket) => {
    if (!options.configFrame) return;
    send(ws, options.configFrame());
    stats.configsSent++;
  };

  const sendSnapshot = (ws: WebSocket) => {
    latest.clear();
    for (const view of source.current()) latest.set(view.id, view);
    const frames = snapshotFrames(coalescer.snapshot(latest.values(), now()), maxFrameBytes);
    for (const frame of frames) send(ws, frame);
    stats.snapshotsSent++;
    stats.snapshotPartsSent += frames.length;
    pendingSinceMs = undefined;
  };

  const startOver = (ws: WebSocket) => {
    try {
      sendConfig(ws);
      sendSnapshot(ws);
    } catch (err) {
      log.error({ err }, 'edge forwarder could not send the snapshot');
      ws.terminate();
    }
  };

  const push = () => {
    const ws = socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return; // changes stay marked; the next connection sends a snapshot anyway
    if (ws.bufferedAmount > maxBufferedBytes) {
      stats.skippedPushes++;
      return;
    }
    if (resyncTimer !== undefined) return; // a fresh snapshot is on its way; changes stay marked
    const deltas = coalescer.flushFrames((id) => latest.get(id), now(), maxFrameBytes);
    pendingSinceMs = undefined;
    for (const delta of deltas) {
      send(ws, delta);
      stats.deltasSent++;
    }
  };

  const scheduleReconnect = () => {
    if (closed) return;
    const delayMs = Math.max(fullJitterDelayMs(attempt++, backoff, random), attempt > 1 ? backoff.baseMs / 2 : 0);
    log.debug({ delayMs, attempt }, 'edge forwarder reconnecting');
    reconnectTimer = setTimeout(connect, delayMs);
    reconnectTimer.unref();
  };

  function connect() {
    reconnectTimer = undefined;
    if (closed) return;
    const ws = new WebSocket(options.url, {
      headers: { Authorization: `Bearer ${options.apiKey}` },
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      maxPayload: 64 * 1024,
    });
    socket = ws;
    ws.on('open', () => {
      if (socket !== ws) return;
      stats.connected = true;
      stats.connects++;
      stats.lastError = null;
      awaitingPong = false;
      log.info({ url: options.url, attempt }, 'edge forwarder connected');
      openedAtMs = now();
      // The backoff is reset only by a connection that proved stable (see 'close'), so a relay that
      // accepts the socket and then drops it at every snapshot is not hammered.
      startOver(ws);
    });
    ws.on('message', (data, isBinary) => {
      awaitingPong = false;
      if (isBinary) return;
      const text = data.toString();
      if (text === 'pong') return;
      stats.edgeErrors++;
      stats.framesRefused++;
      const t = now();
      if (t - lastRefusalMs > STABLE_CONNECTION_MS) refusalStreak = 0;
      lastRefusalMs = t;
      const error = refusalText(text);
      if (!errorsLogged.has(error)) {
        if (errorsLogged.size < 100) errorsLogged.add(error);
        log.warn({ url: options.url, reply: error }, 'edge relay refused a frame (logged once per distinct error; counted in sysmonstm_hub_edge_frames_refused_total)');
      }
      // The relay lost track of our machine numbers (it restarted, or did not take a frame) and asks for
      // a fresh snapshot: sent after a backoff that grows with every refusal in a row, so a refusal
      // never becomes a resend loop. Other refusals are only counted and logged.
      if (!asksForResync(text) || resyncTimer !== undefined) return;
      const delayMs = Math.max(backoff.baseMs / 4, fullJitterDelayMs(refusalStreak++, backoff, random));
      stats.resyncs++;
      resyncTimer = setTimeout(() => {
        resyncTimer = undefined;
        if (socket === ws && ws.readyState === WebSocket.OPEN) startOver(ws);
      }, delayMs);
      resyncTimer.unref();
    });
    ws.on('error', (err) => {
      // A failed handshake (refused, 401, timeout) and a broken connection both end here, then 'close'.
      const first = stats.lastError === null;
      stats.lastError = err.message;
      if (first) log.warn({ err: err.message, url: options.url }, 'edge connection failed');
      else log.debug({ err: err.message }, 'edge connection failed again');
    });
    ws.on('close', (code, reason) => {
      if (socket !== ws) return;
      socket = undefined;
      clearTimeout(resyncTimer);
      resyncTimer = undefined;
      if (stats.connected) {
        stats.disconnects++;
        log.warn({ code, reason: reason.toString() }, 'edge connection closed');
        if (now() - openedAtMs >= STABLE_CONNECTION_MS && now() - lastRefusalMs >= STABLE_CONNECTION_MS) attempt = 0;
      }
      stats.connected = false;
      scheduleReconnect();
    });
  }

  const heartbeat = () => {
    const ws = socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (awaitingPong) {
      log.warn('edge relay did not answer the heartbeat; reconnecting');
      ws.terminate();
      return;
    }
    awaitingPong = true;
    ws.send('ping');
  };

  return {
    start() {
      if (started || closed) return;
      started = true;
      unsubscribe = source.onChange(
        (view) => {
          latest.set(view.id, view);
          coalescer.mark(view.id);
          pendingSinceMs ??= now();
        },
        (id) => {
          latest.delete(id);
          coalescer.mark(id);
          pendingSinceMs ??= now();
        },
      );
      pushTimer = setInterval(push, options.pushIntervalMs);
      pushTimer.unref();
      heartbeatTimer = setInterval(heartbeat, heartbeatMs);
      heartbeatTimer.unref();
      connect();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      clearInterval(pushTimer);
      clearInterval(heartbeatTimer);
      clearTimeout(resyncTimer);
      unsubscribe?.();
      const ws = socket;
      socket = undefined;
      if (!ws || ws.readyState === WebSocket.CLOSED) return;
      if (ws.readyState === WebSocket.OPEN) {
        try {
          if (resyncTimer === undefined) for (const delta of coalescer.flushFrames((id) => latest.get(id), now(), maxFrameBytes)) send(ws, delta);
        } catch (err) {
          log.debug({ err }, 'final edge push failed');
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, CLOSE_WAIT_MS);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'hub shutting down');
      });
      stats.connected = false;
    },
    reconfigure() {
      const ws = socket;
      if (ws && ws.readyState === WebSocket.OPEN) sendConfig(ws);
    },
    resnapshot() {
      const ws = socket;
      if (ws && ws.readyState === WebSocket.OPEN && resyncTimer === undefined) startOver(ws);
    },
    stats: () => ({ ...stats, pendingMachines: coalescer.pending, lagMs: pendingSinceMs === undefined ? 0 : Math.max(0, now() - pendingSinceMs) }),
  };
}
