// Every hub's view of the active alerts (the index in rule-state-store.ts), for the status colours and
// for the offline tick (which machines have an offline alert pending or firing):
// - refresh() reads the whole index only when its version moved, or at least every
//   ACTIVE_FULL_REFRESH_MS (activeReadDue, pure), not all of it each second;
// - a machine's colour is its worst firing alert of a known rule (warning < critical) while rules
//   exist, the metric thresholds otherwise (proto/status.ts); listeners hear of every machine whose
//   colour may have changed.
import { machineStatus, statusFromAlerts, type MachineStatus } from '../../proto/status.ts';
import type { Logger } from '../log.ts';
import type { MachineRecord } from '../state/state-store.ts';
import type { Severity } from './alert-rule.ts';
import type { ActiveAlert, RuleStateStore } from './rule-state-store.ts';

/** The active index is read in full at least this often, whatever its version says. */
export const ACTIVE_FULL_REFRESH_MS = 30_000;

/** Pure: whether the once-a-second refresh must read every active alert. */
export function activeReadDue(seenVersion: number | undefined, version: number | undefined, lastFullAtMs: number, nowMs: number): boolean {
  return version === undefined || seenVersion === undefined || version !== seenVersion || nowMs - lastFullAtMs >= ACTIVE_FULL_REFRESH_MS;
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/** Pure: each machine's worst firing severity among the alerts of known rules. */
export function worstByMachine(list: readonly ActiveAlert[], isKnownRule: (ruleId: string) => boolean): Map<string, Severity> {
  const worst = new Map<string, Severity>();
  for (const a of list) {
    if (a.state !== 'firing' || !isKnownRule(a.rule_id)) continue;
    const prev = worst.get(a.machine);
    if (!prev || SEVERITY_RANK[a.severity] > SEVERITY_RANK[prev]) worst.set(a.machine, a.severity);
  }
  return worst;
}

export interface ActiveViewDeps {
  state: Pick<RuleStateStore, 'active' | 'activeVersion'>;
  log: Logger;
  now: () => number;
  /** The rules the hub knows now (alerts of other rules are ignored; none: colours from thresholds). */
  knownRules: () => ReadonlyMap<string, unknown>;
}

export interface ActiveView {
  /** Takes a full read of the index. */
  set(list: readonly ActiveAlert[]): void;
  /** Reads the index if activeReadDue says so; throws when the store cannot be read. */
  refresh(): Promise<void>;
  /** The alerts of the last read (all of them, also of rules unknown here). */
  current(): readonly ActiveAlert[];
  /** A fresh read for the API: alerts of known rules, a silence that is over shown as none. */
  fresh(): Promise<ActiveAlert[]>;
  statusOf(record: Pick<MachineRecord, 'id' | 'metrics' | 'lastSeenMs' | 'intervalMs'>, nowMs: number): MachineStatus;
  onStatusChange(listener: (machineId: string | null) => void): () => void;
  /** Tells the listeners (null: any machine's colour may have changed). */
  notify(machineId: string | null): void;
}

export function createActiveView(deps: ActiveViewDeps): ActiveView {
  const { state, log, now, knownRules } = deps;
  const listeners = new Set<(machineId: string | null) => void>();
  let worst = new Map<string, Severity>();
  let last: readonly ActiveAlert[] = [];
  /** The active index version last read in full, and when. */
  let seenVersion: number | undefined;
  let lastReadAtMs = 0;

  function notify(machineId: string | null): void {
    for (const listener of listeners) {
      try {
        listener(machineId);
      } catch (err) {
        log.error({ err }, 'alert status listener failed');
      }
    }
  }

  function set(list: readonly ActiveAlert[]): void {
    last = list;
    const rules = knownRules();
    const next = worstByMachine(list, (id) => rules.has(id));
    const changed = new Set<string>();
    for (const [m, sev] of next) if (worst.get(m) !== sev) changed.add(m);
    for (const m of worst.keys()) if (!next.has(m)) changed.add(m);
    worst = next;
    for (const m of changed) notify(m);
  }

  return {
    set,
    async refresh() {
      const version = await state.activeVersion?.();
      const t = now();
      if (activeReadDue(seenVersion, version, lastReadAtMs, t)) {
        set(await state.active());
        seenVersion = version;
        lastReadAtMs = t;
      }
    },
    current: () => last,
    async fresh() {
      const t = now();
      const rules = knownRules();
      return (await state.active())
        .filter((a) => rules.has(a.rule_id))
        .map((a) => ({ ...a, silenced_until: a.silenced_until !== null && a.silenced_until > t ? a.silenced_until : null }));
    },
    statusOf(record, nowMs) {
      if (knownRules().size === 0) return machineStatus(record.metrics, record.lastSeenMs, record.intervalMs, nowMs);
      return statusFromAlerts(record.lastSeenMs, record.intervalMs, nowMs, worst.get(record.id));
    },
    onStatusChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify,
  };
}
