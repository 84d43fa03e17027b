// Test support for the suites that run inside workerd (the Workers Vitest integration): WebSockets
// opened through the Worker itself (`exports.default.fetch` with an Upgrade header, exactly the route a
// browser or the hub takes), a viewer that decodes what its relay sends with the shared decoders (like
// the dashboard: snapshot parts assembled, `v`/`h`/`up` validated, acks sent unless turned off), and a
// hub socket that speaks the view contract (proto/view-frames.ts) with its own fleet encoder. The
// counterpart of test/edge/edge-clients.ts, which drives `wrangler dev` from Node with `ws`.
import { exports } from 'cloudflare:workers';
import {
  applyDelta,
  createFleetEncoder,
  createFleetReader,
  decodeFleetMessage,
  diffMachine,
  LIVE_METRICS,
  type FleetFrame,
  type MachineView,
  type SnapshotMessage,
} from '../../proto/delta.ts';
import { CARD_METRICS } from '../../proto/public-view.ts';
import { createSnapshotAssembler, decodeRelayError, decodeViewerExtra, frameType, splitSnapshot, type HubStatusFrame, type RelayErrorFrame, type UptimeFrame, type ViewConfigFrame, type ViewInfoFrame } from '../../proto/view-frames.ts';
import { AckCounter, LAG_FRAME } from '../../durable-objects/viewer-lag.ts';

/** The token the workers project gives the Worker as HUB_TOKEN (vitest.config.ts). */
export const HUB_TOKEN = 'workers-test-hub-token';
export const ORIGIN = 'https://edge.test';

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets the sockets deliver what is in flight (a negative check waits this long before it looks). */
export const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

/** GET through the Worker with `Upgrade: websocket`: the accepted client end, or the refusal's status
 *  and body (read at once: an unread body would keep the request, and its object, busy). */
export async function upgrade(path: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket | null; status: number; body: string; headers: Headers }> {
  const res = await exports.default.fetch(`${ORIGIN}${path}`, { headers: { Upgrade: 'websocket', ...headers } });
  const ws = res.webSocket;
  if (res.status !== 101 || ws === null) return { ws: null, status: res.status, body: await res.text(), headers: res.headers };
  ws.accept();
  return { ws, status: 101, body: '', headers: res.headers };
}

/** What a socket end saw: every text frame, and how it was closed. */
class Socket {
  readonly raw: string[] = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly ws: WebSocket;
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener('message', (e) => this.onText(typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data as ArrayBuffer)));
    ws.addEventListener('close', (e) => {
      this.closeCode = e.code;
      this.closeReason = e.reason;
      // Answer the close frame, as a browser does (this compatibility date does not do it for us):
      // a socket left half-closed keeps its Durable Object busy.
      try {
        ws.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, e.reason);
      } catch {
        /* already closed */
      }
    });
  }
  protected onText(text: string): void {
    this.raw.push(text);
  }
  send(text: string): void {
    this.ws.send(text);
  }
  close(): void {
    try {
      this.ws.close(1000, 'done');
    } catch {
      /* already closed */
    }
  }
  /** The close code, once closed (within `timeoutMs`). */
  closed(timeoutMs?: number): Promise<number> {
    return waitFor('the socket to close', () => this.closeCode ?? undefined, timeoutMs);
  }
}

/** A public viewer: the fleet it holds, the view frames it got, the raw frames. */
export class TestViewer extends Socket {
  readonly messages: FleetFrame[] = [];
  readonly extras: Array<HubStatusFrame | UptimeFrame | ViewInfoFrame> = [];
  readonly fleet = new Map<string, MachineView>();
  lagFrames = 0;
  private readonly reader = createFleetReader();
  private readonly assembler = createSnapshotAssembler();
  readonly acks: AckCounter | null;

  constructor(ws: WebSocket, acks: boolean) {
    super(ws);
    this.acks = acks ? new AckCounter() : null;
  }

  static async open(path: string, options: { acks?: boolean; headers?: Record<string, string> } = {}): Promise<TestViewer> {
    const { ws, status, body } = await upgrade(path, options.headers);
    if (ws === null) throw new Error(`viewer ${path}: HTTP ${status} ${body}`);
    return new TestViewer(ws, options.acks ?? true);
  }

  protected override onText(text: string): void {
    super.onText(text);
    const ack = this.acks?.received(text) ?? null;
    if (ack !== null) this.send(ack);
    if (text === 'pong') return;
    if (text === LAG_FRAME) {
      this.lagFrames++;
      return;
    }
    const type = frameType(text);
    if (type === 'h' || type === 'up' || type === 'v') {
      this.extras.push(decodeViewerExtra(text));
      return;
    }
    const whole = type === 's' ? this.assembler.add(text) : decodeFleetMessage(text);
    if (whole === null) return; // more snapshot parts to come
    const frame = this.reader.read(whole);
    if (frame.t === 's') {
      this.fleet.clear();
      for (const m of frame.machines) this.fleet.set(m.id, m);
    } else applyDelta(this.fleet, frame.updates, frame.removed, frame.ts);
    this.messages.push(frame);
  }

  snapshots(): number {
    return this.messages.filter((m) => m.t === 's').length;
  }
  hub(): HubStatusFrame | undefined {
    return this.extras.filter((f): f is HubStatusFrame => f.t === 'h').at(-1);
  }
  info(): ViewInfoFrame | undefined {
    return this.extras.filter((f): f is ViewInfoFrame => f.t === 'v').at(-1);
  }
  uptime(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.extras) if (f.t === 'up') Object.assign(out, f.m);
    return out;
  }
}

/** The hub's socket for one view (/ingest?view=<slug>), numbering frames like the hub's encoder. */
export class TestHub extends Socket {
  readonly errors: RelayErrorFrame[] = [];
  private readonly encoder = createFleetEncoder();
  /** What the hub last sent per machine, so deltas carry only changes. */
  private readonly sent = new Map<string, MachineView>();

  static async open(slug: string, query = ''): Promise<TestHub> {
    const { ws, status, body } = await upgrade(`/ingest?view=${slug}${query}`, { Authorization: `Bearer ${HUB_TOKEN}` });
    if (ws === null) throw new Error(`hub socket for ${slug}: HTTP ${status} ${body}`);
    return new TestHub(ws);
  }

  /** Opens the view's socket and sends its config frame first, as the hub does. */
  static async forView(slug: string, over: Partial<ViewConfigFrame> = {}): Promise<TestHub> {
    const hub = await TestHub.open(slug);
    hub.config(viewConfig(slug, over));
    return hub;
  }

  protected override onText(text: string): void {
    super.onText(text);
    const error = frameType(text) === 'e' ? decodeRelayError(text) : null;
    if (error !== null) this.errors.push(error);
  }

  config(frame: ViewConfigFrame): void {
    this.send(JSON.stringify(frame));
  }
  revoke(slug: string): void {
    this.send(JSON.stringify({ t: 'x', slug }));
  }
  snapshot(machines: MachineView[], ts: number): void {
    this.sent.clear();
    for (const m of machines) this.sent.set(m.id, m);
    this.send(this.encoder.restart(machines, ts));
  }
  /** The snapshot as parts of at most `maxChars` (proto/view-frames.ts splitSnapshot), not sent yet. */
  snapshotParts(machines: MachineView[], ts: number, maxChars: number): string[] {
    this.sent.clear();
    for (const m of machines) this.sent.set(m.id, m);
    return splitSnapshot(JSON.parse(this.encoder.restart(machines, ts)) as SnapshotMessage, maxChars);
  }
  /** A delta with what changed since the last frame for each machine given. */
  delta(machines: MachineView[], ts: number, removed: string[] = []): void {
    const updates = machines.flatMap((m) => {
      const u = diffMachine(this.sent.get(m.id), m, ts);
      this.sent.set(m.id, m);
      return u === null ? [] : [u];
    });
    for (const id of removed) this.sent.delete(id);
    this.send(this.encoder.delta(updates, removed, ts));
  }
}

export function viewConfig(slug: string, over: Partial<ViewConfigFrame> = {}): ViewConfigFrame {
  return { t: 'c', slug, title: `View ${slug}`, access: 'public', keyHash: null, metrics: CARD_METRICS.map((m) => LIVE_METRICS.indexOf(m)), ...over };
}

export function machine(id: string, values: MachineView['values'], over: Partial<MachineView> = {}): MachineView {
  return { id, name: `name-${id}`, host: '', status: 'healthy', labels: {}, intervalMs: 1000, lastSeen: Date.now(), values, ...over };
}

/** A slug no other test uses: objects and their storage outlive a test within the project. */
let slugs = 0;
export function freshSlug(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${slugs++}`;
}
