// Test support: a local WebSocket server on 127.0.0.1 playing the public relay for public views (one
// shard each, announced in X-Relay-Shards like the Worker). It checks the bearer key, keeps every byte the hub sends per view (from `?view=<slug>`), assembles
// snapshot parts with the shared assembler, applies deltas with the shared reader (like the real
// relay), records config and revoke frames, and can refuse frames the way the relay does.
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { applyDelta, createFleetReader, decodeFleetMessage, type MachineView } from '../../proto/delta.ts';
import { createSnapshotAssembler, decodeViewControl, frameType, type ViewConfigFrame } from '../../proto/view-frames.ts';

export interface CapturedView {
  /** Every text frame, in order, exactly as received. */
  readonly frames: string[];
  readonly configs: ViewConfigFrame[];
  /** Snapshots completed (after their last part). */
  snapshots: number;
  revoked: boolean;
  readonly fleet: Map<string, MachineView>;
  sockets: number;
}

export interface CaptureRelay {
  readonly url: string;
  readonly views: Map<string, CapturedView>;
  view(slug: string): CapturedView;
  /** Every byte received on any view's socket, as one string (for "absent from every byte" checks). */
  allText(): string;
  /** Answers each frame for which it returns a text (a relay error frame) with that text. */
  refuse: ((slug: string, frame: string) => string | null) | undefined;
  /** Connections of a slug still open. */
  openSockets(slug: string): WebSocket[];
  close(): Promise<void>;
}

export async function startCaptureRelay(apiKey: string): Promise<CaptureRelay> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    maxPayload: 64 * 1024 * 1024,
    verifyClient: (info: { req: { headers: Record<string, unknown> } }) => info.req.headers.authorization === `Bearer ${apiKey}`,
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  // One relay shard per view, announced as the Worker does (the hub then opens `&shard=0` only).
  wss.on('headers', (headers) => headers.push('X-Relay-Shards: 1'));
  const views = new Map<string, CapturedView>();
  const bySlug = new Map<string, Set<WebSocket>>();
  const view = (slug: string): CapturedView => {
    let v = views.get(slug);
    if (!v) {
      v = { frames: [], configs: [], snapshots: 0, revoked: false, fleet: new Map(), sockets: 0 };
      views.set(slug, v);
    }
    return v;
  };
  const relay: CaptureRelay = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ingest`,
    views,
    view,
    allText: () => [...views.values()].map((v) => v.frames.join('\n')).join('\n'),
    refuse: undefined,
    openSockets: (slug) => [...(bySlug.get(slug) ?? [])],
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
  wss.on('connection', (ws, req) => {
    const slug = new URL(req.url ?? '/', 'http://x').searchParams.get('view') ?? 'default';
    const v = view(slug);
    v.sockets++;
    const set = bySlug.get(slug) ?? new Set();
    set.add(ws);
    bySlug.set(slug, set);
    ws.on('close', () => set.delete(ws));
    const reader = createFleetReader();
    const parts = createSnapshotAssembler();
    ws.on('message', (data) => {
      const text = data.toString();
      v.frames.push(text);
      if (text === 'ping') return void ws.send('pong');
      const refusal = relay.refuse?.(slug, text);
      if (refusal) return void ws.send(refusal);
      const t = frameType(text);
      if (t === 'c' || t === 'x') {
        const control = decodeViewControl(text);
        if (control.t === 'c') v.configs.push(control);
        else v.revoked = true;
        return;
      }
      if (t === 's') {
        const whole = parts.add(text);
        if (!whole) return;
        const frame = reader.read(whole);
        if (frame.t !== 's') return;
        v.fleet.clear();
        for (const m of frame.machines) v.fleet.set(m.id, m);
        v.snapshots++;
        return;
      }
      const frame = reader.read(decodeFleetMessage(text));
      if (frame.t === 'd') applyDelta(v.fleet, frame.updates, frame.removed, frame.ts);
    });
  });
  return relay;
}
