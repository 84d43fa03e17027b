// The hub's live picture of the fleet: the latest view of every machine, fed by report events (from
// every replica when Redis is used) and a once-a-second sweep that turns silent machines offline.
// With alerting, a machine's status follows its firing alerts (MachineStatusSource) and changes as
// soon as they do.
// A forgotten machine (a `forgotten` event) is dropped and reported to `onRemoved` listeners.
// It is the source for the local /ws stream and the edge forwarder.
import type { MachineView } from '../../proto/delta.ts';
import { machineStatus, type MachineStatus } from '../../proto/status.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Logger } from '../log.ts';
import type { MachineRecord, StateStore } from '../state/state-store.ts';
import { toMachineView } from './machine-view.ts';

export interface FleetView {
  current(): Iterable<MachineView>;
  get(id: string): MachineView | undefined;
  /** The latest record of every machine (all headline metrics, unrounded): for /metrics. */
  records(): Iterable<MachineRecord>;
  /** `onRemoved` is called with the id of a machine that was forgotten. */
  onChange(listener: (view: MachineView) => void, onRemoved?: (id: string) => void): () => void;
  close(): void;
}

/** Where a machine's status colour comes from when not from the thresholds alone (the alert engine). */
export interface MachineStatusSource {
  statusOf(record: MachineRecord, nowMs: number): MachineStatus;
  /** Called with a machine id whose status may have changed (null: any machine's). */
  onStatusChange(listener: (machineId: string | null) => void): () => void;
}

export async function createFleetView(deps: {
  state: StateStore;
  status?: MachineStatusSource;
  events: EventBus;
  log: Logger;
  sweepIntervalMs?: number;
  now?: () => number;
}): Promise<FleetView> {
  const now = deps.now ?? Date.now;
  const views = new Map<string, MachineView>();
  const records = new Map<string, MachineRecord>();
  const listeners = new Set<(view: MachineView) => void>();
  const removalListeners = new Set<(id: string) => void>();

  const emit = (view: MachineView) => {
    for (const listener of listeners) {
      try {
        listener(view);
      } catch (err) {
        deps.log.error({ err }, 'fleet view listener failed');
      }
    }
  };
  const accept = (record: MachineRecord) => {
    const prev = records.get(record.id);
    if (prev && prev.lastSeq > record.lastSeq && prev.lastSeenMs >= record.lastSeenMs) return;
    records.set(record.id, record);
    const t = now();
    const view = toMachineView(record, t, deps.status?.statusOf(record, t));
    views.set(record.id, view);
    emit(view);
  };

  const drop = (id: string) => {
    records.delete(id);
    if (!views.delete(id)) return;
    for (const listener of removalListeners) {
      try {
        listener(id);
      } catch (err) {
        deps.log.error({ err }, 'fleet view listener failed');
      }
    }
  };

  const unsubscribe = deps.events.subscribe((event) => {
    if (event.forgotten) drop(event.record.id);
    else accept(event.record);
  });
  try {
    for (const record of await deps.state.list()) accept(record);
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'could not load current state; starting empty');
  }

  const restatus = (id: string, t: number) => {
    const view = views.get(id);
    const record = records.get(id);
    if (!view || !record) return;
    const status = deps.status ? deps.status.statusOf(record, t) : machineStatus(record.metrics, record.lastSeenMs, record.intervalMs, t);
    if (status !== view.status) {
      const next = { ...view, status };
      views.set(id, next);
      emit(next);
    }
  };
  const sweep = setInterval(() => {
    const t = now();
    for (const id of views.keys()) restatus(id, t);
  }, deps.sweepIntervalMs ?? 1000);
  sweep.unref();
  const unsubscribeStatus = deps.status?.onStatusChange((id) => {
    const t = now();
    if (id === null) for (const each of views.keys()) restatus(each, t);
    else restatus(id, t);
  });

  return {
    current: () => views.values(),
    get: (id) => views.get(id),
    records: () => records.values(),
    onChange(listener, onRemoved) {
      listeners.add(listener);
      if (onRemoved) removalListeners.add(onRemoved);
      return () => {
        listeners.delete(listener);
        if (onRemoved) removalListeners.delete(onRemoved);
      };
    },
    close() {
      clearInterval(sweep);
      unsubscribe();
      unsubscribeStatus?.();
      listeners.clear();
      removalListeners.clear();
    },
  };
}
