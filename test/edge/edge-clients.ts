// Test support for the edge suites: a viewer that decodes what the relay sends (with the shared
// decoders, exactly like the dashboard: snapshot parts assembled, `v`/`h`/`up` frames validated) and
// keeps the resulting fleet; a raw hub socket that speaks the view contract (config frame first, then
// snapshots, in parts when large, and deltas); an in-memory FleetSource; polling helpers. All waits are
// bounded.
import WebSocket from 'ws';
import {
  applyDelta,
  createFleetEncoder,
  createFleetReader,
  decodeFleetMessage,
  type FleetEncoder,
  type FleetFrame,
  type MachineView,
  type WireUpdate,
} from '../../proto/delta.ts';
import {
  createSnapshotAssembler,
  decodeViewerExtra,
  frameType,
  splitSnapshot,
  type HubStatusFrame,
  type UptimeFrame,
  type ViewConfigFrame,
  type ViewInfoFrame,
} from '../../proto/view-frames.ts';
import { CARD_METRICS } from '../../proto/public-view.ts';
import { LIVE_METRICS, type SnapshotMessage } from '../../proto/delta.ts';
import type { FleetSource } from '../../hub/edge/fleet-source.ts';
import type { RelayStats } from '../../durable-objects/relay-stats.ts';
import { AckCounter, LAG_FRAME } from '../../durable-objects/viewer-lag.ts';

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export class TestViewer {
  /** Every fleet frame received (snapshot parts once assembled), validated, numbers resolved to ids. */
  readonly messages: FleetFrame[] = [];
  readonly raw: string[] = [];
  readonly fleet = new FleetMirror();
  /** The view frames received: `v`, `h`, `up`, validated. */
  readonly extras: Array<HubStatusFrame | UptimeFrame | ViewInfoFrame> = [];
  /** Snapshot frames that were parts (`p` present). */
  snapshotParts = 0;
  closeCode: number | null = null;
  closeReason = '';
  readonly ws: WebSocket;
  private readonly assembler = createSnapshotAssembler();
  /** Acknowledges what it read as the dashboard does (durable-objects/viewer-lag.ts), unless `acks: false`. */
  private readonly acks: AckCounter | null;
  acksSent = 0;
  private constructor(ws: WebSocket, acks: boolean) {
    this.ws = ws;
    this.acks = acks ? new AckCounter() : null;
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      const ack = this.acks?.received(text) ?? null;
      if (ack !== null && ws.readyState === WebSocket.OPEN) {
        ws.send(ack);
        this.acksSent++;
      }
      if (text === 'pong' || text === LAG_FRAME) return;
      const type = frameType(text);
      if (type === 'h' || type === 'up' || type === 'v') {
        this.extras.push(decodeViewerExtra(text));
        return;
      }
      if (type === 's') {
        if (text.includes('"p":[')) this.snapshotParts++;
        const whole = this.assembler.add(text);
        if (whole !== null) this.messages.push(this.fleet.apply(JSON.stringify(whole)));
        return;
      }
      this.messages.push(this.fleet.apply(text));
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static open(url: string, options: { acks?: boolean } = {}): Promise<TestViewer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
      const viewer = new TestViewer(ws, options.acks ?? true);
      ws.once('open', () => resolve(viewer));
      ws.once('error', reject);
    });
  }

  /** The last `h` frame. */
  hub(): HubStatusFrame | undefined {
    return this.extras.filter((f): f is HubStatusFrame => f.t === 'h').at(-1);
  }
  info(): ViewInfoFrame | undefined {
    return this.extras.filter((f): f is ViewInfoFrame => f.t === 'v').at(-1);
  }
  /** Every machine's uptime bitmap, merged from the `up` frames received. */
  uptime(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.extras) if (f.t === 'up') Object.assign(out, f.m);
    return out;
  }
  /** True once the relay's close frame has arrived (closeCode then holds its code). Under `wrangler dev`
   *  the TCP teardown after the close handshake can lag behind by seconds (its proxy holds the
   *  connection), so the close frame itself is what counts: `ws` keeps it in `_closeFrameReceived`. */
  closed(): boolean {
    const internals = this.ws as unknown as { _closeFrameReceived?: boolean; _closeCode?: number; _closeMessage?: Buffer };
    if (this.closeCode === null && internals._closeFrameReceived === true) {
      this.closeCode = internals._closeCode ?? null;
      this.closeReason = internals._closeMessage?.toString() ?? '';
    }
    return this.closeCode !== null;
  }

  value(id: string, metric: keyof MachineView['values']): number | undefined {
    return this.fleet.get(id)?.values[metric];
  }

  close(): void {
    this.ws.terminate();
  }
}

/** What a receiver of the live wire format holds: the fleet by id, merged from snapshots and deltas with
 *  the shared decoder and reader (exactly like the dashboard). */
export class FleetMirror extends Map<string, MachineView> {
  private readonly reader = createFleetReader();
  apply(text: string): FleetFrame {
    const frame = this.reader.read(decodeFleetMessage(text));
    if (frame.t === 's') {
      this.clear();
      for (const m of frame.machines) this.set(m.id, m);
    } else applyDelta(this, frame.updates, frame.removed, frame.ts);
    return frame;
  }
}

/** A view config frame as the hub sends it (the card metrics unless given). */
export function viewConfig(slug: string, over: Partial<ViewConfigFrame> = {}): ViewConfigFrame {
  return { t: 'c', slug, title: `View ${slug}`, access: 'public', keyHash: null, metrics: CARD_METRICS.map((m) => LIVE_METRICS.indexOf(m)), ...over };
}

/** A hub-side socket that sends hand-made frames (numbered by its own encoder, like the hub) and
 *  records what the relay answers. */
export class TestHub {
  readonly replies: string[] = [];
  readonly ws: WebSocket;
  readonly encoder: FleetEncoder = createFleetEncoder();
  /** Every frame sent, for byte checks. */
  readonly sent: string[] = [];
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d) => this.replies.push(d.toString()));
  }
  sendConfig(config: ViewConfigFrame): void {
    this.send(JSON.stringify(config));
  }
  sendRevoke(slug: string): void {
    this.send(JSON.stringify({ t: 'x', slug }));
  }
  sendSnapshot(machines: Iterable<MachineView>, ts: number): void {
    this.send(this.encoder.restart(machines, ts));
  }
  /** A snapshot in parts of at most `maxChars` each (one frame when it fits); returns the part count. */
  sendSnapshotParts(machines: Iterable<MachineView>, ts: number, maxChars: number): number {
    const parts = splitSnapshot(JSON.parse(this.encoder.restart(machines, ts)) as SnapshotMessage, maxChars);
    for (const p of parts) this.send(p);
    return parts.length;
  }
  sendDelta(updates: WireUpdate[], removed: string[], ts: number): void {
    this.send(this.encoder.delta(updates, removed, ts));
  }
  static open(url: string, token: string): Promise<TestHub> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
      ws.once('open', () => resolve(new TestHub(ws)));
      ws.once('error', reject);
    });
  }
  /** Opens the hub's socket for `slug` and sends its config frame first, as the hub does. */
  static async forView(ingestUrl: string, token: string, slug: string, over: Partial<ViewConfigFrame> = {}): Promise<TestHub> {
    const hub = await TestHub.open(`${ingestUrl}?view=${slug}`, token);
    hub.sendConfig(viewConfig(slug, over));
    return hub;
  }
  send(text: string): void {
    this.sent.push(text);
    this.ws.send(text);
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}

/** Status code of a WebSocket handshake that was refused (or 101 when it was accepted). */
export function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response|closed before/.test(err.message)) reject(err);
    });
  });
}

export function machine(id: string, values: MachineView['values'], over: Partial<MachineView> = {}): MachineView {
  return {
    id,
    name: `name-${id}`,
    host: `host-${id}`,
    status: 'healthy',
    labels: { rack: 'r1' },
    intervalMs: 1000,
    lastSeen: Date.now(),
    values,
    ...over,
  };
}

/** A FleetSource the test drives by hand: set() is what a report arriving at the hub would do. */
export class MemoryFleetSource implements FleetSource {
  private readonly views = new Map<string, MachineView>();
  private readonly listeners = new Set<(view: MachineView) => void>();
  current(): Iterable<MachineView> {
    return this.views.values();
  }
  onChange(listener: (view: MachineView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(view: MachineView): void {
    this.views.set(view.id, view);
    for (const l of this.listeners) l(view);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

export async function relayStats(baseUrl: string, token: string, views: string[] = []): Promise<RelayStats[]> {
  const query = views.map((v) => `view=${v}`).join('&');
  const res = await fetch(`${baseUrl}/api/relay-stats${query ? `?${query}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`relay-stats: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { objects: RelayStats[] }).objects;
}
