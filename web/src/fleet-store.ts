// The dashboard's copy of the fleet: the snapshot and deltas from /ws merged with proto/delta.ts (the
// same code the hub and relay use), a short CPU ring per machine for sparklines, and the offset between
// the server's clock and ours. No DOM: views subscribe and get the ids that changed.
import { applyDelta, createFleetReader, type FleetMessage, type MachineView } from '../../proto/delta.ts';
import { createSeriesRing, type SeriesRing } from './series-ring.ts';

/** Sparkline length: two minutes at the default 1 s interval. */
export const SPARK_POINTS = 120;

export interface FleetChange {
  /** True after a snapshot: everything may have changed (and machines may be gone). */
  all: boolean;
  ids: string[];
}

export interface FleetStore {
  readonly machines: ReadonlyMap<string, MachineView>;
  /** Whether a snapshot has arrived since the store was created. */
  readonly ready: boolean;
  /** Now on the server's clock (from the `ts` of the last message), for "3 s ago" and staleness. */
  serverNow(localNowMs?: number): number;
  /** The server time staleness is judged at: now, or, on a relay that may merge pushes into frames up
   *  to `allowFrameGap` ms apart, no later than what the last frame could show (so cards do not turn
   *  stale between two merged frames); never more than that gap behind now. */
  freshnessNow(localNowMs?: number): number;
  allowFrameGap(ms: number): void;
  spark(id: string): SeriesRing | undefined;
  /** Adds older CPU samples (the hub's recent ring) in front of the live ones. */
  seedSpark(id: string, samples: ReadonlyArray<{ tMs: number; cpu: number | null }>): void;
  /** Merges a validated frame. Throws FleetResyncError (changing nothing) when the frame uses machine
   *  numbers this store was never told about: the connection must start over with a snapshot. */
  apply(msg: FleetMessage, localNowMs: number): FleetChange;
  subscribe(listener: (change: FleetChange) => void): () => void;
  /** Drops a machine the hub was just told to forget, before the delta that removes it arrives. */
  forget(id: string): void;
}

export function createFleetStore(): FleetStore {
  const machines = new Map<string, MachineView>();
  const sparks = new Map<string, SeriesRing>();
  const listeners = new Set<(change: FleetChange) => void>();
  let clockOffsetMs = 0;
  let lastFrameTs = 0;
  let frameGapMs = 0;
  let ready = false;
  const reader = createFleetReader();

  const sparkFor = (id: string) => {
    let ring = sparks.get(id);
    if (!ring) {
      ring = createSeriesRing(1, SPARK_POINTS);
      sparks.set(id, ring);
    }
    return ring;
  };
  const record = (m: MachineView) => {
    const cpu = m.values.cpu_percent;
    if (cpu !== undefined) sparkFor(m.id).push(m.lastSeen, [cpu]);
  };

  return {
    machines,
    get ready() {
      return ready;
    },
    serverNow(localNowMs = Date.now()) {
      return localNowMs + clockOffsetMs;
    },
    freshnessNow(localNowMs = Date.now()) {
      const now = localNowMs + clockOffsetMs;
      return frameGapMs > 0 ? Math.min(now, Math.max(lastFrameTs, now - frameGapMs)) : now;
    },
    allowFrameGap(ms) {
      frameGapMs = Math.max(0, ms);
    },
    spark: (id) => sparks.get(id),
    seedSpark(id, samples) {
      if (!machines.has(id)) return;
      sparkFor(id).seed(samples.map((s) => ({ tMs: s.tMs, values: [s.cpu] })));
    },
    apply(msg, localNowMs) {
      const frame = reader.read(msg);
      clockOffsetMs = msg.ts - localNowMs;
      lastFrameTs = msg.ts;
      let change: FleetChange;
      if (frame.t === 's') {
        ready = true;
        machines.clear();
        for (const m of frame.machines) {
          machines.set(m.id, m);
          record(m);
        }
        for (const id of sparks.keys()) if (!machines.has(id)) sparks.delete(id);
        change = { all: true, ids: [...machines.keys()] };
      } else {
        const before = new Map<string, number>();
        for (const [id] of frame.updates) before.set(id, machines.get(id)?.lastSeen ?? -1);
        const ids = applyDelta(machines, frame.updates, frame.removed, frame.ts);
        for (const id of ids) {
          const m = machines.get(id);
          if (!m) sparks.delete(id);
          else if (m.lastSeen !== before.get(id)) record(m);
        }
        change = { all: false, ids };
      }
      for (const listener of listeners) listener(change);
      return change;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    forget(id) {
      sparks.delete(id);
      if (!machines.delete(id)) return;
      const change = { all: false, ids: [id] };
      for (const listener of listeners) listener(change);
    },
  };
}
