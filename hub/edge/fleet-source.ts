// What the edge forwarder reads: the hub's live picture of the fleet. The hub's FleetView satisfies it;
// tests feed a plain in-memory implementation. `onChange` listeners must be cheap: they run on the
// hub's ingest path. A public view reads it through projectFleetSource: only the machines the view
// selects, each projected (hub/views/view-projection.ts), so nothing the view hides reaches the
// forwarder; a machine that stops being selected (its labels changed) is reported as removed.
import type { MachineView } from '../../proto/delta.ts';
import type { ViewProjector } from '../views/view-projection.ts';

export interface FleetSource {
  /** The latest view of every machine the hub knows. */
  current(): Iterable<MachineView>;
  /** Called with the new view whenever a machine changes; `onRemoved` with the id of one that is gone.
   *  Returns an unsubscribe function. */
  onChange(listener: (view: MachineView) => void, onRemoved?: (id: string) => void): () => void;
}

export interface ProjectedFleetSource extends FleetSource {
  /** Switches to another definition of the view (the forwarder then sends a fresh snapshot). */
  setProjector(projector: ViewProjector): void;
}

export function projectFleetSource(source: FleetSource, initial: ViewProjector): ProjectedFleetSource {
  let projector = initial;
  /** Real id → published id, of the machines the view currently shows. */
  const shown = new Map<string, string>();
  return {
    *current() {
      shown.clear();
      for (const machine of source.current()) {
        const out = projector.project(machine);
        if (out === null) continue;
        shown.set(machine.id, out.id);
        yield out;
      }
    },
    onChange(listener, onRemoved) {
      return source.onChange((machine) => {
        const out = projector.project(machine);
        if (out !== null) {
          shown.set(machine.id, out.id);
          listener(out);
          return;
        }
        const published = shown.get(machine.id);
        if (published !== undefined) {
          shown.delete(machine.id);
          onRemoved?.(published);
        }
      });
    },
    setProjector(next) {
      projector = next;
    },
  };
}
