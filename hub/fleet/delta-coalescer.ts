// Coalesces machine changes between pushes: remembers what the receivers were last sent and, at each
// push, encodes one delta with only the fields that changed since. Pure state, no timers or sockets.
import { diffMachine, encodeDelta, encodeSnapshot, type MachineView, type WireUpdate } from '../../proto/delta.ts';

export interface DeltaCoalescer {
  /** Notes that a machine changed since the last push. */
  mark(id: string): void;
  /** A full snapshot of `machines`; afterwards deltas are relative to it. */
  snapshot(machines: Iterable<MachineView>, ts: number): string;
  /** The delta since the last push, or null when nothing changed. */
  flush(lookup: (id: string) => MachineView | undefined, ts: number): string | null;
  readonly pending: number;
}

export function createDeltaCoalescer(): DeltaCoalescer {
  const sent = new Map<string, MachineView>();
  const dirty = new Set<string>();
  return {
    mark(id) {
      dirty.add(id);
    },
    snapshot(machines, ts) {
      sent.clear();
      dirty.clear();
      for (const m of machines) sent.set(m.id, m);
      return encodeSnapshot(sent.values(), ts);
    },
    flush(lookup, ts) {
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
      return encodeDelta(updates, removed, ts);
    },
    get pending() {
      return dirty.size;
    },
  };
}
