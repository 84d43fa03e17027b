// WS /ws on the hub: each viewer gets the full fleet snapshot, then one shared delta per push interval
// with only what changed (the same bytes for every viewer). Viewers are read-only: anything they send
// is ignored; slow viewers that let megabytes pile up are dropped.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeSnapshot } from '../../proto/delta.ts';
import { createDeltaCoalescer } from '../fleet/delta-coalescer.ts';
import type { FleetView } from '../fleet/fleet-view.ts';
import type { Logger } from '../log.ts';

export const MAX_VIEWER_BUFFERED_BYTES = 4 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;

export interface LiveSocket {
  readonly viewers: number;
  close(): Promise<void>;
}

export function attachLiveSocket(server: Server, deps: { fleet: FleetView; pushIntervalMs: number; log: Logger; now?: () => number }): LiveSocket {
  const now = deps.now ?? Date.now;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const coalescer = createDeltaCoalescer();
  const alive = new WeakSet<WebSocket>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on('upgrade', onUpgrade);

  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', () => {
      /* read-only: viewer frames are never acted on */
    });
    ws.on('error', (err) => deps.log.debug({ err: err.message }, 'viewer socket error'));
    ws.send(encodeSnapshot(deps.fleet.current(), now()));
  });

  const unsubscribe = deps.fleet.onChange((view) => coalescer.mark(view.id));
  const push = setInterval(() => {
    if (wss.clients.size === 0) {
      // Nobody to tell; the next viewer starts from a snapshot anyway.
      coalescer.snapshot([], now());
      return;
    }
    const delta = coalescer.flush((id) => deps.fleet.get(id), now());
    if (!delta) return;
    for (const ws of wss.clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_VIEWER_BUFFERED_BYTES) {
        deps.log.warn('dropping a viewer that does not keep up');
        ws.terminate();
        continue;
      }
      ws.send(delta);
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
