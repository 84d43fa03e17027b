// The /ws connection: same origin, ws:// or wss:// following the page. Every frame is validated with
// decodeFleetMessage before it reaches the store; a drop is retried with backoff + jitter, at once when
// the browser comes back online or the tab becomes visible again. On a public view's relay (it sends a
// `v` frame) the page acknowledges what it has read (`{"t":"a","n":frames,"c":chars}` every 16 frames
// or 256 KiB, proto/viewer-ack.ts): a tab that cannot keep up is paused by the relay
// (`{"t":"lag"}`) and resumes from a fresh snapshot once it has read everything, or is closed (4408)
// and reconnects.
import { decodeFleetMessage, type FleetMessage } from '../../proto/delta.ts';
import { createSnapshotAssembler, decodeViewerExtra, frameType, type HubStatusFrame, type UptimeFrame, type ViewInfoFrame } from '../../proto/view-frames.ts';
import { AckCounter, LAG_FRAME, RELAY_MAX_HOLD_MS } from '../../proto/viewer-ack.ts';
import type { FleetStore } from './fleet-store.ts';
import { reconnectDelayMs } from './reconnect-delay.ts';

export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'live'; sinceMs: number }
  | { kind: 'waiting'; attempt: number; retryAtMs: number; reason: string };

export interface LiveConnection {
  readonly state: ConnectionState;
  onState(listener: (state: ConnectionState) => void): () => void;
  /** Skips the wait and reconnects now (the "Retry now" button). */
  retryNow(): void;
  close(): void;
}

export function liveSocketUrl(location: Pick<Location, 'protocol' | 'host'>, path = '/ws'): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

/** What a public view's relay sends besides the fleet, and how it ends a connection for good. */
export interface LiveHooks {
  /** `v`, `h` and `up` frames, validated. */
  onViewFrame?(frame: HubStatusFrame | UptimeFrame | ViewInfoFrame): void;
  /** The relay closed with 4404 (view revoked) or 4403 (link key changed): no reconnect. */
  onEnded?(code: number, reason: string): void;
}

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set([4403, 4404]);

export function connectLive(store: FleetStore, url: string = liveSocketUrl(window.location), hooks: LiveHooks = {}): LiveConnection {
  let state: ConnectionState = { kind: 'connecting', attempt: 0 };
  let attempt = 0;
  let socket: WebSocket | undefined;
  let timer: number | undefined;
  let closed = false;
  const listeners = new Set<(s: ConnectionState) => void>();

  const setState = (next: ConnectionState) => {
    state = next;
    for (const l of listeners) l(state);
  };

  const scheduleRetry = (reason: string) => {
    if (closed) return;
    const delay = reconnectDelayMs(attempt, Math.random);
    attempt++;
    setState({ kind: 'waiting', attempt, retryAtMs: Date.now() + delay, reason });
    timer = window.setTimeout(open, delay);
  };

  function open() {
    if (closed) return;
    window.clearTimeout(timer);
    timer = undefined;
    setState({ kind: 'connecting', attempt });
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      scheduleRetry((err as Error).message);
      return;
    }
    socket = ws;
    let gotSnapshot = false;
    let relay = false;
    const acks = new AckCounter();
    const parts = createSnapshotAssembler();
    ws.onmessage = (ev) => {
      if (socket !== ws || typeof ev.data !== 'string') return;
      const ack = acks.received(ev.data);
      if (ack !== null && relay) ws.send(ack);
      if (ev.data === LAG_FRAME) return; // the relay paused us; the ack above resumes it with a snapshot
      const type = frameType(ev.data);
      if (type === 'v' && !relay) {
        relay = true;
        // The relay may merge pushes of a large fleet into frames up to this far apart (VIEWER_BYTES_PER_S).
        store.allowFrameGap(RELAY_MAX_HOLD_MS);
      }
      let msg: FleetMessage | null;
      try {
        if (type === 'v' || type === 'h' || type === 'up') {
          hooks.onViewFrame?.(decodeViewerExtra(ev.data));
          return;
        }
        // A snapshot may come in parts; it applies once the last one is there.
        msg = type === 's' ? parts.add(ev.data) : decodeFleetMessage(ev.data);
        if (msg === null) return;
      } catch (err) {
        console.warn('sysmonstm: ignoring a malformed frame:', (err as Error).message);
        return;
      }
      if (msg.t === 'd' && !gotSnapshot) return; // deltas only make sense on top of a snapshot
      try {
        store.apply(msg, Date.now());
      } catch (err) {
        // Out of step with the server's numbering: start over, the next connection begins with a snapshot.
        console.warn('sysmonstm: resynchronising:', (err as Error).message);
        ws.close(4000, 'out of sync');
        return;
      }
      if (msg.t === 's' && !gotSnapshot) {
        gotSnapshot = true;
        attempt = 0;
        setState({ kind: 'live', sinceMs: Date.now() });
      }
    };
    ws.onclose = (ev) => {
      if (socket !== ws) return;
      socket = undefined;
      if (FINAL_CLOSE_CODES.has(ev.code)) {
        closed = true;
        hooks.onEnded?.(ev.code, ev.reason);
        return;
      }
      scheduleRetry(ev.code === 1006 || !ev.reason ? 'connection lost' : ev.reason);
    };
    // onerror is always followed by onclose, which schedules the retry.
    ws.onerror = () => {};
  }

  const wake = () => {
    if (state.kind === 'waiting') open();
  };
  const onVisible = () => {
    if (document.visibilityState === 'visible') wake();
  };
  window.addEventListener('online', wake);
  document.addEventListener('visibilitychange', onVisible);
  open();

  return {
    get state() {
      return state;
    },
    onState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    retryNow: wake,
    close() {
      closed = true;
      window.clearTimeout(timer);
      window.removeEventListener('online', wake);
      document.removeEventListener('visibilitychange', onVisible);
      socket?.close(1000, 'page closed');
      socket = undefined;
    },
  };
}
