// RuleStateStore: the shared side of alerting (the SQL side is alert-store.ts), behind one interface
// with a Redis and a memory implementation:
// - per machine, the state of every rule (RuleState), replaced only by compare-and-set on a version,
//   so two hubs evaluating the same machine at once cannot both make the same transition;
// - the index of active (pending/firing) alerts, for GET /api/alerts and the status colours;
// - the outbox: what happened (transitions, reminders, actions), written atomically with the state and
//   recorded into SQL by exactly one hub (idempotently, so a redelivery after a crash is harmless);
// - a rules version (a hub that changes rules bumps it; the others reload) and short leases (one hub
//   runs each offline-evaluation tick).
import type { ActiveAlertJson } from '../../proto/alert-json.ts';
import type { AlertMetric, Severity } from './alert-rule.ts';
import type { RuleState, NoticeKind } from './evaluate.ts';

export interface MachineRuleStates {
  /** 0: nothing stored yet. */
  version: number;
  rules: Record<string, RuleState>;
}

/** An active alert as GET /api/alerts shows it (proto/alert-json.ts), without the rule's name and metric. */
export type ActiveAlert = Omit<ActiveAlertJson, 'rule_name' | 'metric'>;

/** One thing that happened to an alert; recorded by one hub into alert_events and the notification queue. */
export interface OutboxEntry {
  /** Unique; the idempotency key of the record. */
  id: string;
  at: number;
  ruleId: string;
  ruleName: string;
  metric: AlertMetric;
  condition: string;
  machine: string;
  severity: Severity;
  /** alert_events.state (pending, firing, resolved, ok, acknowledged, silenced, removed); undefined for a reminder. */
  state: string | undefined;
  /** The notification this calls for, if any. */
  notice: NoticeKind | undefined;
  value: number | null;
  /** When the alert's current episode began (ms). */
  since: number;
  detail: string | null;
}

export interface ActiveChange {
  ruleId: string;
  machine: string;
  /** null removes the alert from the index. */
  alert: ActiveAlert | null;
}

export interface RuleStateStore {
  readonly kind: 'redis' | 'memory';
  load(machines: readonly string[]): Promise<Map<string, MachineRuleStates>>;
  /**
   * Replaces a machine's rule states if its version is still `expectedVersion`, and in the same atomic
   * step applies the active-index changes and appends the outbox entries. False: another evaluation
   * won; load and try again.
   */
  commit(machine: string, expectedVersion: number, rules: Record<string, RuleState>, active: readonly ActiveChange[], outbox: readonly OutboxEntry[]): Promise<boolean>;
  active(): Promise<ActiveAlert[]>;
  /**
   * A number that changes whenever the active index does (absent: no such number, read active()
   * each time). Lets every hub's once-a-second refresh skip reading all active alerts when nothing
   * changed.
   */
  activeVersion?(): Promise<number>;
  /** Hands every outbox entry to one hub's handler; resolving marks them done, throwing retries them later. */
  consumeOutbox(handler: (entries: OutboxEntry[]) => Promise<void>): void;
  rulesVersion(): Promise<number>;
  bumpRulesVersion(): Promise<void>;
  /** True for exactly one caller per `name` until `ttlMs` passes. */
  tryLease(name: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export const activeKey = (ruleId: string, machine: string) => `${ruleId} ${machine}`;
