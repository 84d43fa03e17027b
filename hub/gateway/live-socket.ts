// WS /ws on the hub: each viewer gets the full fleet snapshot, then one shared delta per push interval
// with only what changed (the same bytes for every viewer). Viewers are read-only: anything they send
// is ignored; slow viewers that let megabytes pile up are dropped. Caps: at most `maxViewers` sockets
// (more get 503 at the handshake) and `maxViewersPerAddress` per client address, an IPv6 client
// counted by its /64 (more get 429 with Retry-After), inbound frames of at most 4 KiB (larger ones close the socket with
// 1009), and at most VIEWER_MESSAGES_PER_WINDOW frames per window (more close it with 1008). With a
// dashboard token, the handshake needs the bearer header or the session cookie (else 401). A handshake
// from another site's page, or naming a host the hub does not serve, is refused with 403 (`admit`).
// No frame is larger than `maxFrameBytes` (default 1 MiB): a large snapshot goes in parts
// (proto/view-frames.ts), a large delta as several complete deltas.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { createDeltaCoalescer, snapshotFrames } from '../fleet/delta-coalescer.ts';
import type { FleetView } from '../fleet/fleet-view.ts';
import type { Logger } from '../log.ts';
import { addressGroup } from '../../proto/address-group.ts';

export const MAX_VIEWER_BUFFERED_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_VIEWERS = 1000;
export const DEFAULT_MAX_VIEWERS_PER_ADDRESS = 20;
export const MAX_VIEWER_FRAME_BYTES = 4096;
export const VIEWER_MESSAGES_PER_WINDOW = 20;
export const DEFAULT_LIVE_MAX_FRAME_BYTES = 1024 * 1024;
const VIEWER_MESSAGE_WINDOW_MS = 10_000;
const HEARTBEAT_MS = 30_000;

/** Refuses an upgrade with a status and a JSON body, the way the REST API answers. */
function refuse(socket: Duplex, status: string, error: string, extra = ''): void {
  const body = JSON.stringify({ error });
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`);
}

export interface LiveSocket {
  readonly viewers: number;
  close(): Promise<void>;
}

export interface LiveSocketDeps {
  fleet: FleetView;
  pushIntervalMs: number;
  log: Logger;
  now?: () => number;
  maxViewers?: number;
  /** Sockets per client address (IPv6 per /64). */
  maxViewersPerAddress?: number;
  /** Host and Origin of the handshake (origin-guard.ts): undefined to admit, else why not (403). */
  admit?: (req: IncomingMessage) => string | undefined;
  /** Largest frame sent to a viewer. */
  maxFrameBytes?: number;
  /** When set, the handshake must pass it (the dashboard token); refused with 401 otherwise. */
  authorize?: (req: IncomingMessage) => boolean;
}

export function attachLiveSocket(server: Server, deps: LiveSocketDeps): LiveSocket {
  const now = deps.now ?? Date.now;
  const maxViewers = deps.maxViewers ?? DEFAULT_MAX_VIEWERS;
  const maxPerAddress = deps.maxViewersPerAddress ?? DEFAULT_MAX_VIEWERS_PER_ADDRESS;
  /** Open sockets per client address group. */
  const perAddress = new Map<string, number>();
  const maxFrameBytes = deps.maxFrameBytes ?? DEFAULT_LIVE_MAX_FRAME_BYTES;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_VIEWER_FRAME_BYTES });
  const coalescer = createDeltaCoalescer();
  const alive = new WeakSet<WebSocket>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const refusal = deps.admit?.(req);
    if (refusal) {
      deps.log.warn({ origin: req.headers.origin, host: req.headers.host }, 'viewer refused: foreign origin or host');
      refuse(socket, '403 Forbidden', refusal);
      return;
    }
    if (deps.authorize && !deps.authorize(req)) {
      refuse(socket, '401 Unauthorized', 'authentication required: send Authorization: Bearer <DASHBOARD_TOKEN>, or sign in at /login', 'WWW-Authenticate: Bearer realm="sysmonstm"\r\n');
      return;
    }
    if (wss.clients.size >= maxViewers) {
      deps.log.warn({ maxViewers }, 'viewer refused: too many viewers');
      refuse(socket, '503 Service Unavailable', `too many viewers (at most ${maxViewers}); try again later`, 'Retry-After: 10\r\n');
      return;
    }
    const remote = req.socket.remoteAddress ?? '';
    const address = addressGroup(remote) ?? remote;
    const held = perAddress.get(address) ?? 0;
    if (held >= maxPerAddress) {
      deps.log.warn({ address, maxViewersPerAddress: maxPerAddress }, 'viewer refused: too many sockets from one address');
      refuse(socket, '429 Too Many Requests', `too many open connections from your address (at most ${maxPerAddress}); close some and try again`, 'Retry-After: 10\r\n');
      return;
    }
    perAddress.set(address, held + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
    };
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', release);
      wss.emit('connection', ws, req);
    });
  };
  server.on('upgrade', onUpgrade);

  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    let windowStartMs = now();
    let messagesInWindow = 0;
    ws.on('message', () => {
      // Read-only: viewer frames are never acted on, only counted; a flood closes the socket.
      const t = now();
      if (t - windowStartMs >= VIEWER_MESSAGE_WINDOW_MS) {
        windowStartMs = t;
        messagesInWindow = 0;
      }
      if (++messagesInWindow > VIEWER_MESSAGES_PER_WINDOW) {
        deps.log.warn('closing a viewer that floods the read-only socket');
        ws.close(1008, 'viewers are read-only');
      }
    });
    ws.on('error', (err) => deps.log.debug({ err: err.message }, 'viewer socket error'));
    // Everyone connected so far is brought up to date first, so the newcomer's snapshot is exactly
    // what they hold and the next shared delta applies to all of them alike.
    const ts = now();
    const catchUp = coalescer.catchUpFrames(deps.fleet.current(), ts, maxFrameBytes);
    for (const frame of catchUp) {
      for (const other of wss.clients) if (other !== ws && other.readyState === other.OPEN) other.send(frame);
    }
    for (const part of snapshotFrames(coalescer.current(ts), maxFrameBytes)) ws.send(part);
  });

  const unsubscribe = deps.fleet.onChange((view) => coalescer.mark(view.id));
  const push = setInterval(() => {
    if (wss.clients.size === 0) {
      // Nobody to tell; the next viewer starts from a snapshot anyway.
      coalescer.snapshot([], now());
      return;
    }
    const deltas = coalescer.flushFrames((id) => deps.fleet.get(id), now(), maxFrameBytes);
    if (deltas.length === 0) return;
    for (const ws of wss.clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_VIEWER_BUFFERED_BYTES) {
        deps.log.warn('dropping a viewer that does not keep up');
        ws.terminate();
        continue;
      }
      for (const delta of deltas) ws.send(delta);
    }
  }, deps.pushIntervalMs);
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  push.unref();
  heartbeat.unref();

  let closed = false;
  return {
    get viewers() {
      return wss.clients.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(push);
      clearInterval(heartbeat);
      unsubscribe();
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.close(1001, 'hub shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
