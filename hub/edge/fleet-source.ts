// What the edge forwarder reads: the hub's live picture of the fleet. The hub's FleetView satisfies it;
// tests feed a plain in-memory implementation. `onChange` listeners must be cheap: they run on the
// hub's ingest path.
import type { MachineView } from '../../proto/delta.ts';

export interface FleetSource {
  /** The latest view of every machine the hub knows. */
  current(): Iterable<MachineView>;
  /** Called with the new view whenever a machine changes; returns an unsubscribe function. */
  onChange(listener: (view: MachineView) => void): () => void;
}
