// Forgetting machines: DELETE /api/machines/{id} and the FORGET_OFFLINE_AFTER sweep. A forgotten
// machine leaves current state (its MAX_MACHINES slot is free again), its active alerts are cleared —
// recorded as "removed", no notification is sent — and a `forgotten` event makes every hub replica's
// live view drop it (/ws viewers get it in the next delta's removals). History stays. A machine that
// still reports comes back with its next report.
import type { EventBus } from '../events/event-bus.ts';
import type { Logger } from '../log.ts';
import type { MachineRecord, StateStore } from '../state/state-store.ts';

/** Machines the sweep forgets at most per run; the rest wait for the next run. */
export const FORGET_SWEEP_BATCH = 500;

/** Pure: the ids of machines last seen more than `afterMs` before `nowMs`, oldest first, at most `limit`. */
export function staleMachines(records: readonly Pick<MachineRecord, 'id' | 'lastSeenMs'>[], nowMs: number, afterMs: number, limit: number): string[] {
  if (afterMs <= 0) return [];
  return records
    .filter((r) => nowMs - r.lastSeenMs > afterMs)
    .sort((a, b) => a.lastSeenMs - b.lastSeenMs)
    .slice(0, limit)
    .map((r) => r.id);
}

export interface MachineForgetter {
  /** Forgets one machine; false when current state does not know it. */
  forget(id: string, reason: string): Promise<boolean>;
  /** Forgets up to FORGET_SWEEP_BATCH machines offline longer than FORGET_OFFLINE_AFTER; returns how many. */
  sweep(): Promise<number>;
}

export function createMachineForgetter(deps: {
  state: StateStore;
  events: EventBus;
  /** Clears the machine's alert state (alert-engine.ts machineForgotten). */
  alerts: { machineForgotten(machine: string): Promise<number> };
  log: Logger;
  /** FORGET_OFFLINE_AFTER in ms; 0 = never. */
  forgetOfflineAfterMs: number;
  now?: () => number;
}): MachineForgetter {
  const now = deps.now ?? Date.now;

  async function forget(id: string, reason: string): Promise<boolean> {
    const record = await deps.state.get(id);
    if (!record && !(await deps.state.forget(id))) return false;
    // Alerts first: when their store (Redis) cannot be reached this throws before anything changed,
    // so a forget either happens whole (state, alerts, the event every replica hears) or not at all.
    let clearedAlerts = await deps.alerts.machineForgotten(id);
    if (record) await deps.state.forget(id);
    // An offline tick that read the machine before it left state may have fired an alert since the
    // clear above (it would never resolve: the machine is gone): cleared again, now that state is.
    clearedAlerts += await deps.alerts.machineForgotten(id).catch((err: unknown) => {
      deps.log.warn({ machine: id, err: (err as Error).message }, 'could not clear the alerts of a forgotten machine a second time');
      return 0;
    });
    const last: MachineRecord = record ?? { id, hostname: id, displayName: id, labels: {}, lastSeenMs: 0, sampledAtMs: 0, lastSeq: 0, intervalMs: 0, metrics: {} as MachineRecord['metrics'] };
    await deps.events.publish({ record: last, receivedAtMs: now(), forgotten: true });
    deps.log.info({ machine: id, reason, clearedAlerts, lastSeenMs: record?.lastSeenMs }, 'machine forgotten');
    return true;
  }

  return {
    forget,
    async sweep() {
      if (deps.forgetOfflineAfterMs <= 0) return 0;
      const ids = staleMachines(await deps.state.list(), now(), deps.forgetOfflineAfterMs, FORGET_SWEEP_BATCH);
      let forgotten = 0;
      for (const id of ids) {
        // A report may have arrived since the list was read.
        const record = await deps.state.get(id);
        if (record && now() - record.lastSeenMs <= deps.forgetOfflineAfterMs) continue;
        if (await forget(id, 'offline longer than FORGET_OFFLINE_AFTER')) forgotten++;
      }
      return forgotten;
    },
  };
}
