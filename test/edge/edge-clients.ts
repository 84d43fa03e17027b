// Test support for the edge suites: a viewer that decodes what the relay sends (with the shared
// decoder, exactly like the dashboard) and keeps the resulting fleet; a raw hub socket; an in-memory
// FleetSource; polling helpers. All waits are bounded.
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
import type { FleetSource } from '../../hub/edge/fleet-source.ts';
import type { RelayStats } from '../../durable-objects/relay-stats.ts';

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
  /** Every frame received, validated and with machine numbers resolved to ids. */
  readonly messages: FleetFrame[] = [];
  readonly raw: string[] = [];
  readonly fleet = new FleetMirror();
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      if (text === 'pong') return;
      this.messages.push(this.fleet.apply(text));
    });
  }

  static open(url: string): Promise<TestViewer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const viewer = new TestViewer(ws);
      ws.once('open', () => resolve(viewer));
      ws.once('error', reject);
    });
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

/** A hub-side socket that sends hand-made frames (numbered by its own encoder, like the hub) and
 *  records what the relay answers. */
export class TestHub {
  readonly replies: string[] = [];
  readonly ws: WebSocket;
  readonly encoder: FleetEncoder = createFleetEncoder();
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d) => this.replies.push(d.toString()));
  }
  sendSnapshot(machines: Iterable<MachineView>, ts: number): void {
    this.ws.send(this.encoder.restart(machines, ts));
  }
  sendDelta(updates: WireUpdate[], removed: string[], ts: number): void {
    this.ws.send(this.encoder.delta(updates, removed, ts));
  }
  static open(url: string, token: string): Promise<TestHub> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
      ws.once('open', () => resolve(new TestHub(ws)));
      ws.once('error', reject);
    });
  }
  send(text: string): void {
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

export async function relayStats(baseUrl: string, token: string): Promise<RelayStats[]> {
  const res = await fetch(`${baseUrl}/api/relay-stats`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`relay-stats: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { objects: RelayStats[] }).objects;
}
