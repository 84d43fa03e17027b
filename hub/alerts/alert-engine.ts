// Runs the rules: the I/O shell that wires the pure parts together.
// - Report events arrive through the event bus's consumer group "alerts": with several hubs on one
//   Redis each event is evaluated by one of them, and a crashed hub's events are claimed by another.
// - Per machine, the states of all rules are loaded, advanced by the pure step (machine-step.ts) and
//   written back by compare-and-set (commit-rule-states.ts, the one loop used by evaluation and every
//   action) together with the active index and the outbox (rule-state-store.ts). Losing the race to
//   another hub means loading again; samples older than a rule's newest are ignored, so per-machine
//   order holds across hubs and a redelivered event changes nothing.
// - The outbox is recorded by one hub into alert_events and the notification queue (alert-recorder.ts,
//   idempotent), and the dispatcher is nudged.
// - Rules are indexed by machine scope (rule-index.ts): a report is evaluated against the rules that
//   can apply to its machine only.
// - Every hub keeps the active alerts in view (active-view.ts: refreshed each second, reading the index
//   only when its version moved, and at once after its own commits) to colour machine status, and
//   reloads rules when another hub changed them.
// - "offline" needs a clock, not events: every tick one hub (a lease per tick) evaluates offline rules,
//   but only for the machines whose silence just crossed a rule's threshold (offline-deadlines.ts)
//   and those with an offline alert pending or firing (from the active view: reminders, a silence
//   that ends, a threshold changed), not the whole fleet. Every hub keeps the deadlines of every
//   machine from the bus's fan-out (subscribe: each hub sees every hub's reports, as its live view
//   does), seeded from the state store at start and again every OFFLINE_RESEED_MS by the hub that
//   ticks, so whichever hub takes the lease has them. A deadline is only ever early (it comes from a
//   report that happened; a report this hub missed makes it early): the tick reads the machine's
//   record from the state store, evaluates it as it is, and waits for its next deadline.
import { randomUUID } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import type { MachineStatus } from '../../proto/status.ts';
import { notFound } from '../errors.ts';
import type { EventBus, ReportEvent } from '../events/event-bus.ts';
import type { Logger } from '../log.ts';
import type { MachineRecord, StateStore } from '../state/state-store.ts';
import { createActiveView } from './active-view.ts';
import { createAlertRecorder } from './alert-recorder.ts';
import { ruleApplies, type AlertRule, type FilesystemUse } from './alert-rule.ts';
import type { AlertStore } from './alert-store.ts';
import { commitRuleStates, RuleStatesConflictError, type CommitPlan } from './commit-rule-states.ts';
import { acknowledge, OK_STATE, silence, type RuleState } from './evaluate.ts';
import { applyAction, forgetMachine, removeRule, stepMachine, toActive, type RuleAction, type StepInput } from './machine-step.ts';
import { createOfflineWatch, type SeenMachine } from './offline-deadlines.ts';
import { indexRules } from './rule-index.ts';
import type { ActiveAlert, MachineRuleStates, RuleStateStore } from './rule-state-store.ts';

export const ALERTS_GROUP = 'alerts';
/** The ticking hub lists every machine this often, for a machine whose reports it never saw. */
export const OFFLINE_RESEED_MS = 600_000;

export interface AlertEngineDeps {
  store: Pick<AlertStore, 'listRules' | 'getRule' | 'listChannels' | 'record'>;
  state: RuleStateStore;
  events: EventBus;
  machines: Pick<StateStore, 'list' | 'get' | 'latestReport'>;
  log: Logger;
  /** How often offline rules are evaluated. */
  tickIntervalMs: number;
  /** Events pending this long at a silent hub are claimed by another. */
  claimIdleMs: number;
  /** Called after transitions were recorded (the dispatcher looks at its queue). */
  onRecorded?: () => void;
  refreshIntervalMs?: number;
  now?: () => number;
  /** Outbox entry ids (default: random UUIDs). */
  newId?: () => string;
}

export interface AlertEngineStats {
  evaluatedEvents: number;
  commits: number;
  conflicts: number;
  recorded: number;
  ticks: number;
  /** Machines evaluated by ticks (due or with an offline alert active). */
  tickMachines: number;
}

export interface AlertEngine {
  start(): Promise<void>;
  rules(): readonly AlertRule[];
  /** After a rule write on this hub: reload now and tell the other hubs. */
  rulesChanged(): Promise<void>;
  /** Active alerts of existing rules, fresh from the shared state. */
  activeAlerts(): Promise<ActiveAlert[]>;
  /** The status colour of a machine: alerts when rules exist, the thresholds otherwise. */
  statusOf(record: Pick<MachineRecord, 'id' | 'metrics' | 'lastSeenMs' | 'intervalMs'>, nowMs: number): MachineStatus;
  /** Called with a machine id when its alert-driven status may have changed (null: any machine's may have). */
  onStatusChange(listener: (machineId: string | null) => void): () => void;
  acknowledge(ruleId: string, machine: string): Promise<ActiveAlert>;
  silence(ruleId: string, machine: string, durationS: number): Promise<{ rule_id: string; machine: string; silenced_until: number | null }>;
  /** A rule was deleted: its active alerts go away (recorded as "removed"). */
  ruleDeleted(rule: AlertRule): Promise<void>;
  /**
   * A machine was forgotten: its rule states are cleared and its active alerts go away, recorded as
   * "removed" (detail "machine forgotten") without a notification. Returns how many were active.
   */
  machineForgotten(machine: string): Promise<number>;
  readonly stats: AlertEngineStats;
  close(): Promise<void>;
}

export function createAlertEngine(deps: AlertEngineDeps): AlertEngine {
  const { store, state, log } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  let rules: AlertRule[] = [];
  let rulesById = new Map<string, AlertRule>();
  let ruleIndex = indexRules([]);
  let offlineRuleIds = new Set<string>();
  let rulesVersion = -1;
  const stats: AlertEngineStats = { evaluatedEvents: 0, commits: 0, conflicts: 0, recorded: 0, ticks: 0, tickMachines: 0 };
  const view = createActiveView({ state, log, now, knownRules: () => rulesById });
  const record = createAlertRecorder({ store, log, stats, onRecorded: deps.onRecorded });
  const offline = createOfflineWatch();
  let seededAtMs = -Infinity;
  let stopConsuming: (() => Promise<void>) | undefined;
  let stopWatching: (() => void) | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let refreshing: Promise<void> | undefined;
  let refreshSoon: NodeJS.Immediate | undefined;
  let closed = false;

  /** The offline rules that apply to a machine (no copy when all of its candidates do: once per report). */
  const offlineRulesOf = (m: SeenMachine): readonly AlertRule[] => {
    const candidates = ruleIndex.offlineRulesFor(m.id);
    return candidates.every((r) => ruleApplies(r, m)) ? candidates : candidates.filter((r) => ruleApplies(r, m));
  };

  // ---- rules and the active view -------------------------------------------------------------
  async function loadRules(): Promise<void> {
    const version = await state.rulesVersion();
    const loaded = await store.listRules();
    const hadRules = rules.length > 0;
    rules = loaded;
    rulesById = new Map(loaded.map((r) => [r.id, r]));
    ruleIndex = indexRules(loaded);
    offlineRuleIds = new Set(loaded.filter((r) => r.metric === 'offline').map((r) => r.id));
    offline.setRules(offlineRulesOf);
    rulesVersion = version;
    // With rules the colours come from alerts, without from the thresholds: every machine may change.
    if (hadRules !== rules.length > 0) view.notify(null);
  }

  async function refresh(): Promise<void> {
    refreshing ??= (async () => {
      try {
        if ((await state.rulesVersion()) !== rulesVersion) {
          await loadRules();
          log.info({ rules: rules.length }, 'alert rules reloaded');
        }
        await view.refresh();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not refresh alert rules or active alerts');
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  const scheduleRefresh = () => {
    if (refreshSoon || closed) return;
    refreshSoon = setImmediate(() => {
      refreshSoon = undefined;
      void refresh();
    });
  };

  /** The one compare-and-set loop, counting commits and lost races. */
  async function commit<T>(machine: string, decide: (current: MachineRuleStates) => CommitPlan<T> | Promise<CommitPlan<T>>, loaded?: MachineRuleStates) {
    const outcome = await commitRuleStates(state, machine, decide, { loaded, onConflict: () => stats.conflicts++ });
    if (outcome.committed) stats.commits++;
    return outcome;
  }

  // ---- evaluation ------------------------------------------------------------------------------
  async function filesystemsOf(machine: string): Promise<FilesystemUse[] | undefined> {
    try {
      const bytes = await deps.machines.latestReport(machine);
      if (!bytes) return undefined;
      return fromBinary(ReportSchema, bytes).filesystems.map((f) => ({ mount: f.mount, usedPercent: f.usedPercent }));
    } catch (err) {
      log.warn({ err: (err as Error).message, machine }, 'could not read the latest report for per-mount disk rules');
      return undefined;
    }
  }

  /** Evaluates each machine's inputs and commits; retries a machine whose state another hub changed meanwhile. */
  async function run(inputsByMachine: Map<string, StepInput[]>): Promise<void> {
    const ids = [...inputsByMachine.keys()];
    const loaded = await state.load(ids);
    await Promise.all(
      ids.map(async (machine) => {
        const inputs = inputsByMachine.get(machine)!;
        const candidates = ruleIndex.rulesFor(machine);
        const needsMounts = inputs.some((i) => i.kind === 'report') && candidates.some((r) => r.mount !== null && ruleApplies(r, inputs[0].record));
        const filesystems = needsMounts ? await filesystemsOf(machine) : undefined;
        const { committed, result } = await commit(
          machine,
          (current) => {
            const step = stepMachine(machine, current.rules, inputs, { rulesById, candidates, filesystems, nowMs: now(), newId });
            return { write: step.changed ? step : undefined, result: step };
          },
          loaded.get(machine),
        );
        for (const u of result.unrecorded) log.debug({ rule: u.ruleId, machine, state: u.state, value: u.value }, 'alert pending state changed');
        if (committed && result.active.length) scheduleRefresh();
      }),
    );
  }

  async function onReports(events: ReportEvent[]): Promise<void> {
    stats.evaluatedEvents += events.length;
    if (rules.length === 0) return;
    const byMachine = new Map<string, StepInput[]>();
    for (const e of events) {
      if (e.forgotten) continue;
      const record = e.record;
      if (!record || typeof record.id !== 'string' || typeof record.lastSeenMs !== 'number' || typeof record.metrics !== 'object') continue;
      const list = byMachine.get(record.id) ?? [];
      list.push({ kind: 'report', record: { ...record, labels: record.labels ?? {} } });
      byMachine.set(record.id, list);
    }
    for (const list of byMachine.values()) list.sort((a, b) => a.record.lastSeenMs - b.record.lastSeenMs);
    await run(byMachine);
  }

  /** Every hub follows every report (the bus's fan-out) for the offline deadlines. */
  function watch(event: ReportEvent): void {
    const r = event.record;
    if (!r || typeof r.id !== 'string') return;
    if (event.forgotten) offline.forget(r.id);
    else if (typeof r.lastSeenMs === 'number') offline.seen(r.labels ? r : { id: r.id, labels: {}, lastSeenMs: r.lastSeenMs });
  }

  /** Every machine in the state store into the offline deadlines; a failure is retried by the next tick. */
  async function seed(): Promise<void> {
    const at = now();
    try {
      for (const r of await deps.machines.list()) offline.seen({ id: r.id, labels: r.labels ?? {}, lastSeenMs: r.lastSeenMs });
      seededAtMs = at;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not list the machines for offline detection; the next tick tries again');
    }
  }

  async function tick(): Promise<void> {
    if (!ruleIndex.hasOffline) return;
    const t = now();
    // One hub per tick: the others skip it (evaluating twice would be harmless, only wasted).
    if (!(await state.tryLease(`tick:${Math.floor(t / deps.tickIntervalMs)}`, deps.tickIntervalMs * 2))) return;
    stats.ticks++;
    if (t - seededAtMs >= OFFLINE_RESEED_MS) await seed();
    const ids = new Set(offline.due(t));
    for (const a of view.current()) if (offlineRuleIds.has(a.rule_id)) ids.add(a.machine);
    if (ids.size === 0) return;
    try {
      const records = await Promise.all([...ids].map(async (id) => [id, await deps.machines.get(id)] as const));
      const inputs = new Map<string, StepInput[]>();
      for (const [id, record] of records) {
        if (!record) {
          offline.forget(id);
          continue;
        }
        const machine = { ...record, labels: record.labels ?? {} };
        offline.rearm(machine, t);
        if (ruleIndex.offlineRulesFor(id).some((r) => ruleApplies(r, machine))) inputs.set(id, [{ kind: 'tick', record: machine, nowMs: t }]);
      }
      stats.tickMachines += inputs.size;
      if (inputs.size) await run(inputs);
    } catch (err) {
      for (const id of ids) offline.retry(id, t);
      throw err;
    }
  }

  // ---- actions -------------------------------------------------------------------------------
  async function ruleNamed(ruleId: string): Promise<AlertRule> {
    const rule = rulesById.get(ruleId) ?? (await store.getRule(ruleId));
    if (!rule) throw notFound(`unknown rule "${ruleId}"`);
    return rule;
  }

  /** Applies an action to one rule's state of one machine; undefined when it did not apply. */
  async function act(rule: AlertRule, machine: string, action: RuleAction): Promise<RuleState | null | undefined> {
    const { result, committed } = await commit(machine, (current) => {
      const change = applyAction(machine, current.rules, rule, action, now(), newId);
      return { write: change, result: change?.state };
    });
    if (committed) scheduleRefresh();
    return result;
  }

  return {
    stats,
    async start() {
      await loadRules();
      view.set(await state.active());
      stopWatching = deps.events.subscribe(watch);
      await seed();
      stopConsuming = deps.events.consume(ALERTS_GROUP, onReports, { claimIdleMs: deps.claimIdleMs, idle: () => rules.length === 0 });
      state.consumeOutbox(record);
      const runTick = () => {
        if (ticking || closed) return;
        ticking = tick()
          .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'offline evaluation failed'))
          .finally(() => (ticking = undefined));
      };
      tickTimer = setInterval(runTick, deps.tickIntervalMs);
      tickTimer.unref();
      refreshTimer = setInterval(() => void refresh(), deps.refreshIntervalMs ?? 1000);
      refreshTimer.unref();
      log.info({ rules: rules.length, state: state.kind, machines: offline.tracked }, 'alerting started');
    },
    rules: () => rules,
    async rulesChanged() {
      await state.bumpRulesVersion();
      await loadRules();
      view.set(await state.active());
    },
    activeAlerts: () => view.fresh(),
    statusOf: (record, nowMs) => view.statusOf(record, nowMs),
    onStatusChange: (listener) => view.onStatusChange(listener),
    async acknowledge(ruleId, machine) {
      const rule = await ruleNamed(ruleId);
      const result = await act(rule, machine, (st) => {
        if (!st || st.phase === 'ok') return undefined;
        return { state: acknowledge(st) ?? st, entry: { state: 'acknowledged', detail: null } };
      });
      if (!result) throw notFound(`no active alert of rule "${ruleId}" on machine "${machine}"`);
      return toActive(rule, machine, result, now())!;
    },
    async silence(ruleId, machine, durationS) {
      if (!(await deps.machines.get(machine))) throw notFound(`unknown machine "${machine}"`);
      const rule = await ruleNamed(ruleId);
      const result = await act(rule, machine, (st, t) => {
        const until = durationS > 0 ? t + durationS * 1000 : 0;
        return {
          state: silence(st ?? OK_STATE, until),
          entry: { state: 'silenced', detail: durationS > 0 ? `notifications held back for ${durationS} s` : 'silence lifted' },
        };
      });
      return { rule_id: ruleId, machine, silenced_until: result && result.silencedUntilMs > now() ? result.silencedUntilMs : null };
    },
    async ruleDeleted(rule) {
      const machines = (await state.active()).filter((a) => a.rule_id === rule.id).map((a) => a.machine);
      // Every machine is tried; those whose state kept changing are named in one error afterwards.
      const failed: RuleStatesConflictError[] = [];
      for (const machine of machines) {
        try {
          await commit(machine, (current) => ({ write: removeRule(machine, current.rules, rule, now(), newId), result: undefined }));
        } catch (err) {
          if (!(err instanceof RuleStatesConflictError)) throw err;
          failed.push(err);
        }
      }
      scheduleRefresh();
      if (failed.length) {
        const names = failed.map((e) => e.machine).join(', ');
        log.error({ rule: rule.id, machines: names }, 'the alerts of a deleted rule could not be removed');
        throw new Error(`the alerts of rule "${rule.id}" on ${names} could not be removed: their rule states kept changing under ${failed[0].attempts} compare-and-set attempts`);
      }
    },
    async machineForgotten(machine) {
      const { result, committed } = await commit(machine, async (current) => {
        if (current.version === 0 && Object.keys(current.rules).length === 0) return { write: undefined, result: 0 };
        const known = new Map<string, AlertRule | undefined>();
        for (const ruleId of Object.keys(current.rules)) known.set(ruleId, rulesById.get(ruleId) ?? (await store.getRule(ruleId)));
        const write = forgetMachine(machine, current.rules, (id) => known.get(id), now(), newId);
        return { write, result: write.outbox.length };
      });
      if (committed) scheduleRefresh();
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (tickTimer) clearInterval(tickTimer);
      if (refreshTimer) clearInterval(refreshTimer);
      if (refreshSoon) clearImmediate(refreshSoon);
      stopWatching?.();
      await stopConsuming?.();
      await ticking;
      await refreshing;
      await state.close();
    },
  };
}
