// Coalesces machine changes between pushes: remembers what the receivers were last sent and, at each
// push, encodes one delta with only the fields that changed since. It owns the FleetEncoder (the
// numbering of machines on the wire) of its receivers. Pure state, no timers or sockets.
// With a frame limit (`maxFrameBytes`), a snapshot larger than it travels in parts (proto/view-frames.ts
// splitSnapshot) and a delta larger than it as several complete deltas, each within the limit.
import { createFleetEncoder, diffMachine, type MachineView, type SnapshotMessage, type WireUpdate } from '../../proto/delta.ts';
import { splitSnapshot } from '../../proto/view-frames.ts';

export interface DeltaCoalescer {
  /** Notes that a machine changed since the last push. */
  mark(id: string): void;
  /** Starts over for one (re)connected receiver: a full snapshot of `machines`; deltas follow from it. */
  snapshot(machines: Iterable<MachineView>, ts: number): string;
  /** The delta since the last push, or null when nothing changed. */
  flush(lookup: (id: string) => MachineView | undefined, ts: number): string | null;
  /**
   * Brings the connected receivers up to date with `machines` (every machine, not only marked ones;
   * machines not in it are removed) and returns that delta, or null. Afterwards current() is exactly
   * what every receiver holds: the snapshot for a receiver joining now, sharing every later delta.
   */
  catchUp(machines: Iterable<MachineView>, ts: number): string | null;
  /** What the receivers hold, as a snapshot. */
  current(ts: number): string;
  /** flush() as frames of at most `maxFrameBytes` each (several complete deltas); [] when nothing changed. */
  flushFrames(lookup: (id: string) => MachineView | undefined, ts: number, maxFrameBytes: number): string[];
  /** catchUp() as frames of at most `maxFrameBytes` each. */
  catchUpFrames(machines: Iterable<MachineView>, ts: number, maxFrameBytes: number): string[];
  readonly pending: number;
}

/** A snapshot frame as frames of at most `maxFrameBytes` bytes (itself when it fits). */
export function snapshotFrames(text: string, maxFrameBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxFrameBytes) return [text];
  const snapshot = JSON.parse(text) as SnapshotMessage;
  // splitSnapshot counts characters; names and labels may be multi-byte, so shrink until every part fits.
  let maxChars = maxFrameBytes;
  for (let attempt = 0; ; attempt++) {
    const parts = splitSnapshot(snapshot, maxChars);
    const largest = Math.max(...parts.map((p) => Buffer.byteLength(p)));
    if (largest <= maxFrameBytes || attempt >= 4 || parts.every((p) => (JSON.parse(p) as SnapshotMessage).m.length <= 1)) return parts;
    maxChars = Math.floor((maxChars * maxFrameBytes) / largest) - 64;
  }
}

const DELTA_OVERHEAD_BYTES = 96;

export function createDeltaCoalescer(): DeltaCoalescer {
  const sent = new Map<string, MachineView>();
  const dirty = new Set<string>();
  const encoder = createFleetEncoder();

  const collect = (lookup: (id: string) => MachineView | undefined, ts: number): { updates: WireUpdate[]; removed: string[] } => {
    const updates: WireUpdate[] = [];
    const removed: string[] = [];
    for (const id of dirty) {
      const next = lookup(id);
      if (!next) {
        if (sent.delete(id)) removed.push(id);
        continue;
      }
      const update = diffMachine(sent.get(id), next, ts);
      sent.set(id, next);
      if (update) updates.push(update);
    }
    dirty.clear();
    return { updates, removed };
  };
  const flush = (lookup: (id: string) => MachineView | undefined, ts: number): string | null => {
    if (dirty.size === 0) return null;
    const { updates, removed } = collect(lookup, ts);
    if (updates.length === 0 && removed.length === 0) return null;
    return encoder.delta(updates, removed, ts);
  };
  const flushFrames = (lookup: (id: string) => MachineView | undefined, ts: number, maxFrameBytes: number): string[] => {
    if (dirty.size === 0) return [];
    const { updates, removed } = collect(lookup, ts);
    if (updates.length === 0 && removed.length === 0) return [];
    const frames: string[] = [];
    let batch: WireUpdate[] = [];
    let size = DELTA_OVERHEAD_BYTES;
    // Upper bound of an update on the wire: the update by id (the wire's number is shorter than the id)
    // plus its announcement [number, id] when it is new to the receivers.
    for (const update of updates) {
      const bytes = Buffer.byteLength(JSON.stringify(update)) + Buffer.byteLength(JSON.stringify(update[0])) + 16;
      if (batch.length > 0 && size + bytes > maxFrameBytes) {
        frames.push(encoder.delta(batch, [], ts));
        batch = [];
        size = DELTA_OVERHEAD_BYTES;
      }
      batch.push(update);
      size += bytes;
    }
    let gone: string[] = [];
    for (const id of removed) {
      if (size + 12 > maxFrameBytes) {
        frames.push(encoder.delta(batch, gone, ts));
        batch = [];
        gone = [];
        size = DELTA_OVERHEAD_BYTES;
      }
      gone.push(id);
      size += 12;
    }
    if (batch.length > 0 || gone.length > 0) frames.push(encoder.delta(batch, gone, ts));
    return frames;
  };
  const markAll = (machines: Iterable<MachineView>) => {
    const all = new Map<string, MachineView>();
    for (const m of machines) {
      all.set(m.id, m);
      dirty.add(m.id);
    }
    for (const id of sent.keys()) if (!all.has(id)) dirty.add(id);
    return all;
  };

  return {
    mark(id) {
      dirty.add(id);
    },
    snapshot(machines, ts) {
      sent.clear();
      dirty.clear();
      for (const m of machines) sent.set(m.id, m);
      return encoder.restart(sent.values(), ts);
    },
    flush,
    flushFrames,
    catchUp(machines, ts) {
      const all = markAll(machines);
      return flush((id) => all.get(id), ts);
    },
    catchUpFrames(machines, ts, maxFrameBytes) {
      const all = markAll(machines);
      return flushFrames((id) => all.get(id), ts, maxFrameBytes);
    },
    current(ts) {
      return encoder.snapshot(sent.values(), ts);
    },
    get pending() {
      return dirty.size;
    },
  };
}
