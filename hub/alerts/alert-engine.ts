// Runs the rules: the I/O shell around the pure state machine (evaluate.ts).
// - Report events arrive through the event bus's consumer group "alerts": with several hubs on one
//   Redis each event is evaluated by one of them, and a crashed hub's events are claimed by another.
// - Per machine, the states of all rules are loaded, advanced sample by sample, and written back by
//   compare-and-set together with the active index and the outbox (alert-state.ts). Losing the race
//   to another hub means loading again; samples older than a rule's newest are ignored, so per-machine
//   order holds across hubs and a redelivered event changes nothing.
// - "offline" needs a clock, not events: every tick one hub (a lease per tick) evaluates offline rules
//   for every known machine.
// - The outbox is recorded by one hub into alert_events and the notification queue (idempotent), and
//   the dispatcher is nudged.
// - Rules are indexed by machine scope: a report is evaluated against the rules without a machine list
//   plus the rules that list its machine, so 500 rules scoped to other machines cost nothing per report.
// - Every hub keeps the active alerts in view (refreshed each second, at once after its own commits) to
//   colour machine status, and reloads rules when another hub changed them. The refresh reads the
//   active index only when its version moved (or every ACTIVE_FULL_REFRESH_MS), not all of it each second.
import { randomUUID } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { machineStatus, silentForSeconds, statusFromAlerts, type MachineStatus } from '../../proto/status.ts';
import { notFound } from '../errors.ts';
import type { EventBus, ReportEvent } from '../events/event-bus.ts';
import type { Logger } from '../log.ts';
import type { MachineRecord, StateStore } from '../state/state-store.ts';
import { describeCondition, ruleApplies, ruleValue, type AlertRule, type ChannelSpec, type FilesystemUse, type Severity } from './alert-rule.ts';
import type { ActiveAlert, ActiveChange, RuleStateStore, MachineRuleStates, OutboxEntry } from './rule-state-store.ts';
import type { AlertStore, QueuedNotification } from './alert-store.ts';
import { acknowledge, evaluate, isRecordedStep, OK_STATE, silence, type RuleState, type Sample } from './evaluate.ts';
import type { AlertMessage } from './notification.ts';

export const ALERTS_GROUP = 'alerts';
const MAX_COMMIT_ATTEMPTS = 12;
/** The active index is read in full at least this often, whatever its version says. */
export const ACTIVE_FULL_REFRESH_MS = 30_000;

/** Pure: whether the once-a-second refresh must read every active alert. */
export function activeReadDue(seenVersion: number | undefined, version: number | undefined, lastFullAtMs: number, nowMs: number): boolean {
  return version === undefined || seenVersion === undefined || version !== seenVersion || nowMs - lastFullAtMs >= ACTIVE_FULL_REFRESH_MS;
}

export interface AlertEngineDeps {
  store: AlertStore;
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
  readonly stats: { evaluatedEvents: number; commits: number; conflicts: number; recorded: number; ticks: number };
  close(): Promise<void>;
}

/** What one machine is evaluated on: a report (every rule) or a clock tick (offline rules only). */
type Input = { kind: 'report'; record: MachineRecord } | { kind: 'tick'; record: MachineRecord; nowMs: number };

const SEVERITY_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/**
 * The rules that can apply to a machine: those without a machine list, and those whose list names it,
 * in the rules' own order. Pure; the per-machine lists are built once per machine and rule set.
 */
export function indexRules(list: readonly AlertRule[]): { rulesFor(machineId: string): readonly AlertRule[] } {
  const unscoped: AlertRule[] = [];
  const byMachine = new Map<string, number[]>();
  list.forEach((rule, position) => {
    if (!rule.scope.machines) {
      unscoped.push(rule);
      return;
    }
    for (const m of rule.scope.machines) {
      const positions = byMachine.get(m);
      if (positions) positions.push(position);
      else byMachine.set(m, [position]);
    }
  });
  const unscopedPositions = list.flatMap((r, i) => (r.scope.machines ? [] : [i]));
  const perMachine = new Map<string, readonly AlertRule[]>();
  return {
    rulesFor(machineId) {
      const scoped = byMachine.get(machineId);
      if (!scoped) return unscoped;
      let rules = perMachine.get(machineId);
      if (!rules) {
        rules = [...new Set([...unscopedPositions, ...scoped])].sort((a, b) => a - b).map((i) => list[i]);
        perMachine.set(machineId, rules);
      }
      return rules;
    },
  };
}

export function createAlertEngine(deps: AlertEngineDeps): AlertEngine {
  const { store, state, log } = deps;
  const now = deps.now ?? Date.now;
  let rules: AlertRule[] = [];
  let rulesById = new Map<string, AlertRule>();
  /** Rules without scope.machines, and the others by each machine they list (rule-index below). */
  let ruleIndex = indexRules([]);
  let rulesVersion = -1;
  let worst = new Map<string, Severity>();
  const listeners = new Set<(machineId: string | null) => void>();
  const stats = { evaluatedEvents: 0, commits: 0, conflicts: 0, recorded: 0, ticks: 0 };
  let stopConsuming: (() => Promise<void>) | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let refreshing: Promise<void> | undefined;
  let refreshSoon: NodeJS.Immediate | undefined;
  let closed = false;
  /** The active index version last read in full, and when. */
  let seenActiveVersion: number | undefined;
  let lastActiveReadAtMs = 0;

  // ---- rules ---------------------------------------------------------------------------------
  function notify(machineId: string | null): void {
    for (const listener of listeners) {
      try {
        listener(machineId);
      } catch (err) {
        log.error({ err }, 'alert status listener failed');
      }
    }
  }

  async function loadRules(): Promise<void> {
    const version = await state.rulesVersion();
    const loaded = await store.listRules();
    const hadRules = rules.length > 0;
    rules = loaded;
    rulesById = new Map(loaded.map((r) => [r.id, r]));
    ruleIndex = indexRules(loaded);
    rulesVersion = version;
    // With rules the colours come from alerts, without from the thresholds: every machine may change.
    if (hadRules !== rules.length > 0) notify(null);
  }

  // ---- the active view and status colours --------------------------------------------------------
  function setActive(list: readonly ActiveAlert[]): void {
    const next = new Map<string, Severity>();
    for (const a of list) {
      if (a.state !== 'firing' || !rulesById.has(a.rule_id)) continue;
      const prev = next.get(a.machine);
      if (!prev || SEVERITY_RANK[a.severity] > SEVERITY_RANK[prev]) next.set(a.machine, a.severity);
    }
    const changed = new Set<string>();
    for (const [m, sev] of next) if (worst.get(m) !== sev) changed.add(m);
    for (const m of worst.keys()) if (!next.has(m)) changed.add(m);
    worst = next;
    for (const m of changed) notify(m);
  }

  async function refresh(): Promise<void> {
    refreshing ??= (async () => {
      try {
        if ((await state.rulesVersion()) !== rulesVersion) {
          await loadRules();
          log.info({ rules: rules.length }, 'alert rules reloaded');
        }
        const version = await state.activeVersion?.();
        const t = now();
        if (activeReadDue(seenActiveVersion, version, lastActiveReadAtMs, t)) {
          setActive(await state.active());
          seenActiveVersion = version;
          lastActiveReadAtMs = t;
        }
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

  // ---- evaluation ------------------------------------------------------------------------------
  function toActive(rule: AlertRule, machine: string, st: RuleState, nowMs: number): ActiveAlert | null {
    if (st.phase === 'ok') return null;
    return {
      rule_id: rule.id,
      machine,
      state: st.phase,
      severity: rule.severity,
      since: st.sinceMs,
      value: st.value,
      acknowledged: st.acknowledged,
      silenced_until: st.silencedUntilMs > nowMs ? st.silencedUntilMs : null,
    };
  }

  function entry(rule: Pick<AlertRule, 'id' | 'name' | 'metric' | 'op' | 'threshold' | 'for_s' | 'mount' | 'severity'>, machine: string, fields: Pick<OutboxEntry, 'state' | 'notice' | 'value' | 'since' | 'detail'>, nowMs: number): OutboxEntry {
    return {
      id: randomUUID(),
      at: nowMs,
      ruleId: rule.id,
      ruleName: rule.name,
      metric: rule.metric,
      condition: describeCondition(rule),
      machine,
      severity: rule.severity,
      ...fields,
    };
  }

  function sampleFor(rule: AlertRule, input: Input, filesystems: FilesystemUse[] | undefined): Sample {
    if (rule.metric === 'offline') {
      return input.kind === 'report'
        ? { value: 0, timeMs: input.record.lastSeenMs }
        : { value: silentForSeconds(input.record.lastSeenMs, input.nowMs), timeMs: input.nowMs };
    }
    return { value: ruleValue(rule, input.record.metrics, filesystems, input.record.problems), timeMs: input.record.lastSeenMs };
  }

  interface Step {
    rules: Record<string, RuleState>;
    active: ActiveChange[];
    outbox: OutboxEntry[];
    changed: boolean;
  }

  /** Advances one machine's rule states over its inputs, in order. Pure apart from the ids it draws. */
  function step(current: MachineRuleStates, machine: string, inputs: readonly Input[], filesystems: FilesystemUse[] | undefined, nowMs: number): Step {
    const next: Record<string, RuleState> = { ...current.rules };
    const outbox: OutboxEntry[] = [];
    const touched = new Set<string>();
    let changed = false;
    const last = inputs[inputs.length - 1].record;
    for (const [ruleId, st] of Object.entries(current.rules)) {
      const rule = rulesById.get(ruleId);
      if (!rule) {
        // Unknown here: deleted (its alerts were removed by the deleting hub), or created on another hub
        // a moment ago. Only a harmless, unsilenced ok state is dropped.
        if (st.phase === 'ok' && st.silencedUntilMs <= nowMs) {
          delete next[ruleId];
          changed = true;
        }
      } else if (!ruleApplies(rule, last)) {
        delete next[ruleId];
        changed = true;
        if (st.phase !== 'ok') {
          outbox.push(entry(rule, machine, { state: 'removed', notice: undefined, value: st.value, since: st.sinceMs, detail: 'the machine left the rule scope' }, nowMs));
          touched.add(ruleId);
        }
      }
    }
    const candidates = ruleIndex.rulesFor(machine);
    for (const input of inputs) {
      for (const rule of candidates) {
        if (input.kind === 'tick' && rule.metric !== 'offline') continue;
        if (!ruleApplies(rule, input.record)) continue;
        const before = next[rule.id] ?? OK_STATE;
        const ev = evaluate(rule, before, sampleFor(rule, input, filesystems), nowMs);
        if (!ev.changed) continue;
        next[rule.id] = ev.state;
        changed = true;
        touched.add(rule.id);
        if (ev.transition === 'firing' && before.phase === 'pending') {
          // The pending phase is recorded only now that it led to firing (at the time it began).
          outbox.push({ ...entry(rule, machine, { state: 'pending', notice: undefined, value: before.value, since: before.sinceMs, detail: null }, nowMs), at: before.sinceMs });
        }
        if (!isRecordedStep(ev)) {
          if (ev.transition) log.debug({ rule: rule.id, machine, state: ev.transition, value: ev.state.value }, 'alert pending state changed');
        } else {
          const since = ev.transition === 'resolved' || ev.state.phase === 'ok' ? before.sinceMs : ev.state.sinceMs;
          outbox.push(entry(rule, machine, { state: ev.transition, notice: ev.notice, value: ev.state.value, since, detail: ev.transition === undefined && ev.notice === 'firing' ? 'silence over' : null }, nowMs));
        }
      }
    }
    const active: ActiveChange[] = [...touched].map((ruleId) => {
      const rule = rulesById.get(ruleId)!;
      const st = next[ruleId];
      return { ruleId, machine, alert: st ? toActive(rule, machine, st, nowMs) : null };
    });
    return { rules: next, active, outbox, changed };
  }

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
  async function run(inputsByMachine: Map<string, Input[]>): Promise<void> {
    const ids = [...inputsByMachine.keys()];
    const loaded = await state.load(ids);
    await Promise.all(
      ids.map(async (machine) => {
        const inputs = inputsByMachine.get(machine)!;
        const needsMounts = inputs.some((i) => i.kind === 'report') && ruleIndex.rulesFor(machine).some((r) => r.mount !== null && ruleApplies(r, inputs[0].record));
        const filesystems = needsMounts ? await filesystemsOf(machine) : undefined;
        let current = loaded.get(machine)!;
        for (let attempt = 1; ; attempt++) {
          const result = step(current, machine, inputs, filesystems, now());
          if (!result.changed) return;
          if (await state.commit(machine, current.version, result.rules, result.active, result.outbox)) {
            stats.commits++;
            if (result.active.length) scheduleRefresh();
            return;
          }
          stats.conflicts++;
          if (attempt >= MAX_COMMIT_ATTEMPTS) throw new Error(`alert state of ${machine} kept changing under ${MAX_COMMIT_ATTEMPTS} attempts`);
          current = (await state.load([machine])).get(machine)!;
        }
      }),
    );
  }

  async function onReports(events: ReportEvent[]): Promise<void> {
    stats.evaluatedEvents += events.length;
    if (rules.length === 0) return;
    const byMachine = new Map<string, Input[]>();
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

  async function tick(): Promise<void> {
    if (!rules.some((r) => r.metric === 'offline')) return;
    const t = now();
    // One hub per tick: the others skip it (evaluating twice would be harmless, only wasted).
    if (!(await state.tryLease(`tick:${Math.floor(t / deps.tickIntervalMs)}`, deps.tickIntervalMs * 2))) return;
    stats.ticks++;
    const inputs = new Map<string, Input[]>();
    for (const record of await deps.machines.list()) {
      if (ruleIndex.rulesFor(record.id).some((r) => r.metric === 'offline' && ruleApplies(r, record))) inputs.set(record.id, [{ kind: 'tick', record, nowMs: t }]);
    }
    if (inputs.size) await run(inputs);
  }

  // ---- recording -----------------------------------------------------------------------------
  async function channelsFor(ruleId: string, saved: Map<string, ChannelSpec> | undefined): Promise<{ channels: ChannelSpec[]; saved: Map<string, ChannelSpec> }> {
    const rule = await store.getRule(ruleId);
    const known = saved ?? new Map((await store.listChannels()).map((c) => [c.id, { type: c.type, url: c.url, ...(c.secret ? { secret: c.secret } : {}) }]));
    const channels: ChannelSpec[] = [];
    for (const ref of rule?.channels ?? []) {
      if (typeof ref !== 'string') channels.push(ref);
      else if (known.has(ref)) channels.push(known.get(ref)!);
      else log.warn({ rule: ruleId, channel: ref }, 'a rule refers to a saved channel that no longer exists');
    }
    return { channels, saved: known };
  }

  async function record(entries: OutboxEntry[]): Promise<void> {
    let saved: Map<string, ChannelSpec> | undefined;
    for (const e of entries) {
      let notifications: QueuedNotification[] = [];
      if (e.notice) {
        const found = await channelsFor(e.ruleId, saved);
        saved = found.saved;
        const message: AlertMessage = {
          kind: e.notice,
          rule_id: e.ruleId,
          rule_name: e.ruleName,
          metric: e.metric,
          condition: e.condition,
          severity: e.severity,
          machine: e.machine,
          value: e.value,
          since: e.since,
          at: e.at,
        };
        notifications = found.channels.map((channel, i) => ({ dedupeKey: `${e.id}:${i}`, channel, message }));
      }
      await store.record({
        transitionId: e.id,
        timeMs: e.at,
        ruleId: e.ruleId,
        ruleName: e.ruleName,
        machine: e.machine,
        state: e.state,
        severity: e.severity,
        value: e.value,
        detail: e.detail,
        notifications,
      });
      stats.recorded++;
      if (e.state) log.info({ rule: e.ruleId, machine: e.machine, state: e.state, value: e.value, notify: e.notice ?? null }, 'alert transition');
    }
    deps.onRecorded?.();
  }

  // ---- actions -------------------------------------------------------------------------------
  /** Applies `change` to one rule's state of one machine by compare-and-set. */
  async function act(
    ruleId: string,
    machine: string,
    change: (st: RuleState | undefined, rule: AlertRule, nowMs: number) => { state: RuleState | null; entry: Pick<OutboxEntry, 'state' | 'detail'> } | undefined,
  ): Promise<RuleState | null | undefined> {
    const rule = rulesById.get(ruleId) ?? (await store.getRule(ruleId));
    if (!rule) throw notFound(`unknown rule "${ruleId}"`);
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const current = (await state.load([machine])).get(machine)!;
      const t = now();
      const st = current.rules[ruleId];
      const result = change(st, rule, t);
      if (!result) return undefined;
      const rulesNext = { ...current.rules };
      if (result.state) rulesNext[ruleId] = result.state;
      else delete rulesNext[ruleId];
      const active: ActiveChange[] = [{ ruleId, machine, alert: result.state ? toActive(rule, machine, result.state, t) : null }];
      const out = entry(rule, machine, { ...result.entry, notice: undefined, value: st?.value ?? null, since: st?.sinceMs ?? t }, t);
      if (await state.commit(machine, current.version, rulesNext, active, [out])) {
        stats.commits++;
        scheduleRefresh();
        return result.state;
      }
      stats.conflicts++;
    }
    throw new Error(`alert state of ${machine} kept changing under ${MAX_COMMIT_ATTEMPTS} attempts`);
  }

  return {
    stats,
    async start() {
      await loadRules();
      setActive(await state.active());
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
      log.info({ rules: rules.length, state: state.kind }, 'alerting started');
    },
    rules: () => rules,
    async rulesChanged() {
      await state.bumpRulesVersion();
      await loadRules();
      setActive(await state.active());
    },
    async activeAlerts() {
      const t = now();
      return (await state.active())
        .filter((a) => rulesById.has(a.rule_id))
        .map((a) => ({ ...a, silenced_until: a.silenced_until !== null && a.silenced_until > t ? a.silenced_until : null }));
    },
    statusOf(record, nowMs) {
      if (rules.length === 0) return machineStatus(record.metrics, record.lastSeenMs, record.intervalMs, nowMs);
      return statusFromAlerts(record.lastSeenMs, record.intervalMs, nowMs, worst.get(record.id));
    },
    onStatusChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async acknowledge(ruleId, machine) {
      const result = await act(ruleId, machine, (st) => {
        if (!st || st.phase === 'ok') return undefined;
        return { state: acknowledge(st) ?? st, entry: { state: 'acknowledged', detail: null } };
      });
      if (!result) throw notFound(`no active alert of rule "${ruleId}" on machine "${machine}"`);
      return toActive(rulesById.get(ruleId) ?? (await store.getRule(ruleId))!, machine, result, now())!;
    },
    async silence(ruleId, machine, durationS) {
      if (!(await deps.machines.get(machine))) throw notFound(`unknown machine "${machine}"`);
      const result = await act(ruleId, machine, (st, _rule, t) => {
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
      for (const machine of machines) {
        for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
          const current = (await state.load([machine])).get(machine)!;
          const st = current.rules[rule.id];
          const rulesNext = { ...current.rules };
          delete rulesNext[rule.id];
          const out = st ? [entry(rule, machine, { state: 'removed', notice: undefined, value: st.value, since: st.sinceMs, detail: 'rule deleted' }, now())] : [];
          if (await state.commit(machine, current.version, rulesNext, [{ ruleId: rule.id, machine, alert: null }], out)) break;
          stats.conflicts++;
        }
      }
      scheduleRefresh();
    },
    async machineForgotten(machine) {
      for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
        const current = (await state.load([machine])).get(machine)!;
        if (current.version === 0 && Object.keys(current.rules).length === 0) return 0;
        const t = now();
        const active: ActiveChange[] = [];
        const out: OutboxEntry[] = [];
        for (const [ruleId, st] of Object.entries(current.rules)) {
          active.push({ ruleId, machine, alert: null });
          const rule = rulesById.get(ruleId) ?? (await store.getRule(ruleId));
          if (rule && st.phase !== 'ok') out.push(entry(rule, machine, { state: 'removed', notice: undefined, value: st.value, since: st.sinceMs, detail: 'machine forgotten' }, t));
        }
        if (await state.commit(machine, current.version, {}, active, out)) {
          stats.commits++;
          scheduleRefresh();
          return out.length;
        }
        stats.conflicts++;
      }
      throw new Error(`alert state of ${machine} kept changing under ${MAX_COMMIT_ATTEMPTS} attempts`);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (tickTimer) clearInterval(tickTimer);
      if (refreshTimer) clearInterval(refreshTimer);
      if (refreshSoon) clearImmediate(refreshSoon);
      await stopConsuming?.();
      await ticking;
      await refreshing;
      await state.close();
    },
  };
}
