// Coalesces machine changes between pushes: remembers what the receivers were last sent and, at each
// push, encodes one delta with only the fields that changed since. It owns the FleetEncoder (the
// numbering of machines on the wire) of its receivers. Pure state, no timers or sockets.
import { createFleetEncoder, diffMachine, type MachineView, type WireUpdate } from '../../proto/delta.ts';

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
  readonly pending: number;
}

export function createDeltaCoalescer(): DeltaCoalescer {
  const sent = new Map<string, MachineView>();
  const dirty = new Set<string>();
  const encoder = createFleetEncoder();

  const flush = (lookup: (id: string) => MachineView | undefined, ts: number): string | null => {
    if (dirty.size === 0) return null;
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
    if (updates.length === 0 && removed.length === 0) return null;
    return encoder.delta(updates, removed, ts);
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
    catchUp(machines, ts) {
      const all = new Map<string, MachineView>();
      for (const m of machines) {
        all.set(m.id, m);
        dirty.add(m.id);
      }
      for (const id of sent.keys()) if (!all.has(id)) dirty.add(id);
      return flush((id) => all.get(id), ts);
    },
    current(ts) {
      return encoder.snapshot(sent.values(), ts);
    },
    get pending() {
      return dirty.size;
    },
  };
}
