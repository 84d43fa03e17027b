// The hub's edge forwarder: one persistent, authenticated WebSocket to the public relay (the Worker's
// /ingest). After every (re)connect it sends a full snapshot, then at most one coalesced delta per push
// interval carrying only what changed since the previous push. It never slows the hub: change
// notifications only update an in-memory map (the latest view per machine, so memory is bounded by
// the fleet size), and when the edge is down nothing queues up — the next connection starts from a
// fresh snapshot. Reconnects use exponential backoff with full jitter.
import WebSocket from 'ws';
import type { MachineView } from '../../proto/delta.ts';
import { createDeltaCoalescer } from '../fleet/delta-coalescer.ts';
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
  /** Snapshots resent because the relay asked for one (it restarted and lost the machine numbering). */
  resyncs: number;
  lastError: string | null;
}

export interface EdgeForwarder {
  start(): void;
  close(): Promise<void>;
  stats(): EdgeForwarderStats;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 500, maxMs: 30_000 });
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 20_000;
const CLOSE_WAIT_MS = 2_000;

/** An error frame from the relay ({"t":"e","error":…,"resync":true}) that asks for a new snapshot. */
function asksForResync(text: string): boolean {
  try {
    const reply = JSON.parse(text) as unknown;
    return typeof reply === 'object' && reply !== null && (reply as { resync?: unknown }).resync === true;
  } catch {
    return false;
  }
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

  const send = (ws: WebSocket, text: string) => {
    ws.send(text);
    stats.bytesSent += Buffer.byteLength(text);
  };

  const sendSnapshot = (ws: WebSocket) => {
    latest.clear();
    for (const view of source.current()) latest.set(view.id, view);
    send(ws, coalescer.snapshot(latest.values(), now()));
    stats.snapshotsSent++;
    pendingSinceMs = undefined;
  };

  const push = () => {
    const ws = socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return; // changes stay marked; the next connection sends a snapshot anyway
    if (ws.bufferedAmount > maxBufferedBytes) {
      stats.skippedPushes++;
      return;
    }
    const delta = coalescer.flush((id) => latest.get(id), now());
    pendingSinceMs = undefined;
    if (delta === null) return;
    send(ws, delta);
    stats.deltasSent++;
  };

  const scheduleReconnect = () => {
    if (closed) return;
    const delayMs = fullJitterDelayMs(attempt++, backoff, random);
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
      attempt = 0;
      try {
        sendSnapshot(ws);
      } catch (err) {
        log.error({ err }, 'edge forwarder could not send the snapshot');
        ws.terminate();
      }
    });
    ws.on('message', (data, isBinary) => {
      awaitingPong = false;
      if (isBinary) return;
      const text = data.toString();
      if (text === 'pong') return;
      stats.edgeErrors++;
      if (asksForResync(text)) {
        // The relay lost track of our machine numbers (it restarted): start it over from a snapshot.
        log.info('edge relay asked for a fresh snapshot');
        stats.resyncs++;
        try {
          sendSnapshot(ws);
        } catch (err) {
          log.error({ err }, 'edge forwarder could not send the snapshot');
          ws.terminate();
        }
        return;
      }
      log.warn({ reply: text.slice(0, 500) }, 'edge relay rejected a frame');
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
      if (stats.connected) {
        stats.disconnects++;
        log.warn({ code, reason: reason.toString() }, 'edge connection closed');
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
      unsubscribe = source.onChange((view) => {
        latest.set(view.id, view);
        coalescer.mark(view.id);
        pendingSinceMs ??= now();
      });
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
      unsubscribe?.();
      const ws = socket;
      socket = undefined;
      if (!ws || ws.readyState === WebSocket.CLOSED) return;
      if (ws.readyState === WebSocket.OPEN) {
        try {
          const delta = coalescer.flush((id) => latest.get(id), now());
          if (delta !== null) send(ws, delta);
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
    stats: () => ({ ...stats, pendingMachines: coalescer.pending, lagMs: pendingSinceMs === undefined ? 0 : Math.max(0, now() - pendingSinceMs) }),
  };
}
