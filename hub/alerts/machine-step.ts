// One machine's alerting step, pure: given the machine's rule states, the rules that may apply, what
// happened (reports, or a clock tick for the offline rules) and an injected clock and id source, it
// returns the next rule states, the active-index changes and the outbox entries — what the engine
// then writes in one compare-and-set (commit-rule-states.ts). No I/O, no clock, no randomness.
// - Rule states of rules that no longer exist are dropped when harmless (ok, not silenced); those of
//   rules whose scope no longer takes the machine are dropped, an active one recorded as "removed".
// - Inputs are applied in order, each to every candidate rule that applies to the machine then; a
//   tick only to offline rules (the value is the silence since the last report).
// - A pending phase is recorded only when it led to firing (at the time it began); other pending
//   changes are returned in `unrecorded` for a debug line.
// The actions (acknowledge, silence, a deleted rule, a forgotten machine) are pure steps too.
import { silentForSeconds } from '../../proto/status.ts';
import type { MachineRecord } from '../state/state-store.ts';
import { describeCondition, ruleApplies, ruleValue, type AlertRule, type FilesystemUse } from './alert-rule.ts';
import { evaluate, isRecordedStep, OK_STATE, type RuleState, type Sample, type TransitionKind } from './evaluate.ts';
import type { ActiveAlert, ActiveChange, OutboxEntry } from './rule-state-store.ts';

/** What one machine is evaluated on: a report (every rule) or a clock tick (offline rules only). */
export type StepInput = { kind: 'report'; record: MachineRecord } | { kind: 'tick'; record: MachineRecord; nowMs: number };

export type RuleStates = Record<string, RuleState>;

/** What a step writes: every rule state of the machine, and with it the index changes and the outbox. */
export interface RuleStatesWrite {
  rules: RuleStates;
  active: ActiveChange[];
  outbox: OutboxEntry[];
}

export interface StepResult extends RuleStatesWrite {
  /** False: nothing worth writing changed. */
  changed: boolean;
  /** Pending phase changes that leave no record (the shell logs them at debug level). */
  unrecorded: Array<{ ruleId: string; state: TransitionKind; value: number | null }>;
}

export interface StepContext {
  /** Every rule the hub knows, by id. */
  rulesById: ReadonlyMap<string, AlertRule>;
  /** The rules that can apply to this machine (rule-index.ts), in order. */
  candidates: readonly AlertRule[];
  /** The latest report's filesystems, for per-mount disk rules. */
  filesystems?: readonly FilesystemUse[];
  nowMs: number;
  /** A unique id per outbox entry. */
  newId: () => string;
}

type RuleFacts = Pick<AlertRule, 'id' | 'name' | 'metric' | 'op' | 'threshold' | 'for_s' | 'mount' | 'severity'>;

/** The active-index entry of a rule state: null when ok. */
export function toActive(rule: Pick<AlertRule, 'id' | 'severity'>, machine: string, st: RuleState, nowMs: number): ActiveAlert | null {
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

export function outboxEntry(rule: RuleFacts, machine: string, fields: Pick<OutboxEntry, 'state' | 'notice' | 'value' | 'since' | 'detail'>, nowMs: number, id: string): OutboxEntry {
  return {
    id,
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

/** The sample a rule reads from an input: the silence for offline rules, the report's value otherwise. */
export function sampleFor(rule: AlertRule, input: StepInput, filesystems: readonly FilesystemUse[] | undefined): Sample {
  if (rule.metric === 'offline') {
    return input.kind === 'report'
      ? { value: 0, timeMs: input.record.lastSeenMs }
      : { value: silentForSeconds(input.record.lastSeenMs, input.nowMs), timeMs: input.nowMs };
  }
  return { value: ruleValue(rule, input.record.metrics, filesystems, input.record.problems), timeMs: input.record.lastSeenMs };
}

/** Advances one machine's rule states over its inputs (at least one), in order. */
export function stepMachine(machine: string, current: Readonly<RuleStates>, inputs: readonly StepInput[], ctx: StepContext): StepResult {
  const { rulesById, nowMs, newId } = ctx;
  const next: RuleStates = { ...current };
  const outbox: OutboxEntry[] = [];
  const unrecorded: StepResult['unrecorded'] = [];
  const touched = new Set<string>();
  let changed = false;
  const last = inputs[inputs.length - 1].record;
  for (const [ruleId, st] of Object.entries(current)) {
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
        outbox.push(outboxEntry(rule, machine, { state: 'removed', notice: undefined, value: st.value, since: st.sinceMs, detail: 'the machine left the rule scope' }, nowMs, newId()));
        touched.add(ruleId);
      }
    }
  }
  for (const input of inputs) {
    for (const rule of ctx.candidates) {
      if (input.kind === 'tick' && rule.metric !== 'offline') continue;
      if (!ruleApplies(rule, input.record)) continue;
      const before = next[rule.id] ?? OK_STATE;
      const ev = evaluate(rule, before, sampleFor(rule, input, ctx.filesystems), nowMs);
      if (!ev.changed) continue;
      next[rule.id] = ev.state;
      changed = true;
      touched.add(rule.id);
      if (ev.transition === 'firing' && before.phase === 'pending') {
        // The pending phase is recorded only now that it led to firing (at the time it began).
        outbox.push({ ...outboxEntry(rule, machine, { state: 'pending', notice: undefined, value: before.value, since: before.sinceMs, detail: null }, nowMs, newId()), at: before.sinceMs });
      }
      if (!isRecordedStep(ev)) {
        if (ev.transition) unrecorded.push({ ruleId: rule.id, state: ev.transition, value: ev.state.value });
      } else {
        const since = ev.transition === 'resolved' || ev.state.phase === 'ok' ? before.sinceMs : ev.state.sinceMs;
        outbox.push(outboxEntry(rule, machine, { state: ev.transition, notice: ev.notice, value: ev.state.value, since, detail: ev.transition === undefined && ev.notice === 'firing' ? 'silence over' : null }, nowMs, newId()));
      }
    }
  }
  const active: ActiveChange[] = [...touched].map((ruleId) => {
    const rule = rulesById.get(ruleId)!;
    const st = next[ruleId];
    return { ruleId, machine, alert: st ? toActive(rule, machine, st, nowMs) : null };
  });
  return { rules: next, active, outbox, changed, unrecorded };
}

// ---- actions -------------------------------------------------------------------------------------

/** What an action does to one rule state: its next value (null removes it) and how it is recorded. */
export type RuleAction = (st: RuleState | undefined, nowMs: number) => { state: RuleState | null; entry: Pick<OutboxEntry, 'state' | 'detail'> } | undefined;

/** Applies an action to one rule state of a machine; undefined when it does not apply (nothing to write). */
export function applyAction(machine: string, current: Readonly<RuleStates>, rule: AlertRule, action: RuleAction, nowMs: number, newId: () => string): (RuleStatesWrite & { state: RuleState | null }) | undefined {
  const st = current[rule.id];
  const result = action(st, nowMs);
  if (!result) return undefined;
  const rules: RuleStates = { ...current };
  if (result.state) rules[rule.id] = result.state;
  else delete rules[rule.id];
  return {
    rules,
    active: [{ ruleId: rule.id, machine, alert: result.state ? toActive(rule, machine, result.state, nowMs) : null }],
    outbox: [outboxEntry(rule, machine, { ...result.entry, notice: undefined, value: st?.value ?? null, since: st?.sinceMs ?? nowMs }, nowMs, newId())],
    state: result.state,
  };
}

/** A deleted rule: its state on the machine goes, an existing one recorded as "removed". */
export function removeRule(machine: string, current: Readonly<RuleStates>, rule: AlertRule, nowMs: number, newId: () => string): RuleStatesWrite {
  const st = current[rule.id];
  const rules: RuleStates = { ...current };
  delete rules[rule.id];
  const outbox = st ? [outboxEntry(rule, machine, { state: 'removed', notice: undefined, value: st.value, since: st.sinceMs, detail: 'rule deleted' }, nowMs, newId())] : [];
  return { rules, active: [{ ruleId: rule.id, machine, alert: null }], outbox };
}

/**
 * A forgotten machine: every rule state goes, every active one recorded as "removed" (no
 * notification). `ruleOf` answers for the rules of the states (an unknown rule leaves no record).
 */
export function forgetMachine(machine: string, current: Readonly<RuleStates>, ruleOf: (ruleId: string) => AlertRule | undefined, nowMs: number, newId: () => string): RuleStatesWrite {
  const active: ActiveChange[] = [];
  const outbox: OutboxEntry[] = [];
  for (const [ruleId, st] of Object.entries(current)) {
    active.push({ ruleId, machine, alert: null });
    const rule = ruleOf(ruleId);
    if (rule && st.phase !== 'ok') outbox.push(outboxEntry(rule, machine, { state: 'removed', notice: undefined, value: st.value, since: st.sinceMs, detail: 'machine forgotten' }, nowMs, newId()));
  }
  return { rules: {}, active, outbox };
}
