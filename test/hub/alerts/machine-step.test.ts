// The pure per-machine step, table-driven: rule states in, rules and inputs (reports, ticks) with an
// injected clock and id source, and out come the next states, the active-index changes and the outbox
// entries the engine commits. Then the action steps (acknowledge/silence, a deleted rule, a forgotten machine).
import { describe, expect, test } from 'vitest';
import type { AlertRule } from '../../../hub/alerts/alert-rule.ts';
import { acknowledge, OK_STATE, type RuleState } from '../../../hub/alerts/evaluate.ts';
import { applyAction, forgetMachine, removeRule, stepMachine, type RuleStates, type StepInput, type StepResult } from '../../../hub/alerts/machine-step.ts';
import { indexRules } from '../../../hub/alerts/rule-index.ts';
import type { MachineRecord } from '../../../hub/state/state-store.ts';

const T0 = 1_000_000;

function rule(id: string, over: Partial<AlertRule> = {}): AlertRule {
  return { id, name: `rule ${id}`, metric: 'cpu_percent', op: '>', threshold: 80, clear_threshold: 80, for_s: 0, severity: 'warning', scope: {}, channels: [], repeat_s: 0, mount: null, ...over };
}

function record(lastSeenMs: number, cpu: number, over: Partial<MachineRecord> = {}): MachineRecord {
  return { id: 'm1', hostname: 'm1', displayName: 'm1', labels: { env: 'prod' }, lastSeenMs, sampledAtMs: lastSeenMs, lastSeq: 1, intervalMs: 1000, metrics: { cpu_percent: cpu } as MachineRecord['metrics'], ...over };
}

const report = (t: number, cpu: number, over: Partial<MachineRecord> = {}): StepInput => ({ kind: 'report', record: record(T0 + t * 1000, cpu, over) });
const tick = (lastSeenS: number, nowS: number): StepInput => ({ kind: 'tick', record: record(T0 + lastSeenS * 1000, 10), nowMs: T0 + nowS * 1000 });
const st = (over: Partial<RuleState>): RuleState => ({ ...OK_STATE, ...over });

function run(rules: AlertRule[], current: RuleStates, inputs: StepInput[], nowS: number): StepResult {
  let n = 0;
  return stepMachine('m1', current, inputs, {
    rulesById: new Map(rules.map((r) => [r.id, r])),
    candidates: indexRules(rules).rulesFor('m1'),
    nowMs: T0 + nowS * 1000,
    newId: () => `id-${++n}`,
  });
}

interface Case {
  name: string;
  rules: AlertRule[];
  current?: RuleStates;
  inputs: StepInput[];
  now: number;
  changed: boolean;
  /** rule id → phase after the step (absent: no state kept). */
  phases: Record<string, RuleState['phase']>;
  /** [rule, state, notice] of every outbox entry, in order. */
  outbox: Array<[string, string | undefined, string | undefined]>;
  /** [rule, active state or null] of every active change. */
  active: Array<[string, string | null]>;
  unrecorded?: Array<[string, string]>;
}

const CASES: Case[] = [
  {
    name: 'a harmless report changes nothing',
    rules: [rule('cpu')],
    inputs: [report(1, 10)],
    now: 1,
    changed: false,
    phases: {},
    outbox: [],
    active: [],
  },
  {
    name: 'a breach with for_s 0 fires and notifies',
    rules: [rule('cpu', { severity: 'critical' })],
    inputs: [report(1, 95)],
    now: 1,
    changed: true,
    phases: { cpu: 'firing' },
    outbox: [['cpu', 'firing', 'firing']],
    active: [['cpu', 'firing']],
  },
  {
    name: 'a breach with for_s goes pending without a record (a debug line only)',
    rules: [rule('cpu', { for_s: 5 })],
    inputs: [report(1, 95)],
    now: 1,
    changed: true,
    phases: { cpu: 'pending' },
    outbox: [],
    active: [['cpu', 'pending']],
    unrecorded: [['cpu', 'pending']],
  },
  {
    name: 'several reports in order: pending, then firing records the pending phase first',
    rules: [rule('cpu', { for_s: 2 })],
    inputs: [report(1, 95), report(2, 96), report(3, 97)],
    now: 3,
    changed: true,
    phases: { cpu: 'firing' },
    outbox: [
      ['cpu', 'pending', undefined],
      ['cpu', 'firing', 'firing'],
    ],
    active: [['cpu', 'firing']],
    unrecorded: [['cpu', 'pending']],
  },
  {
    name: 'a firing rule that clears resolves and notifies',
    rules: [rule('cpu')],
    current: { cpu: st({ phase: 'firing', sinceMs: T0, value: 95, lastSampleMs: T0, notifiedFiring: true, lastNotifiedMs: T0 }) },
    inputs: [report(5, 10)],
    now: 5,
    changed: true,
    phases: { cpu: 'ok' },
    outbox: [['cpu', 'resolved', 'resolved']],
    active: [['cpu', null]],
  },
  {
    name: 'an ok state of a rule unknown here is dropped without a record',
    rules: [rule('cpu')],
    current: { gone: st({ lastSampleMs: T0 }) },
    inputs: [report(1, 10)],
    now: 1,
    changed: true,
    phases: {},
    outbox: [],
    active: [],
  },
  {
    name: 'a firing state of a rule unknown here is kept (the rule may be new on another hub)',
    rules: [rule('cpu')],
    current: { other: st({ phase: 'firing', sinceMs: T0 }) },
    inputs: [report(1, 10)],
    now: 1,
    changed: false,
    phases: { other: 'firing' },
    outbox: [],
    active: [],
  },
  {
    name: 'a silenced ok state of an unknown rule is kept until the silence ends',
    rules: [rule('cpu')],
    current: { other: st({ silencedUntilMs: T0 + 60_000 }) },
    inputs: [report(1, 10)],
    now: 1,
    changed: false,
    phases: { other: 'ok' },
    outbox: [],
    active: [],
  },
  {
    name: 'a machine that left the scope loses the state; an active one is recorded as removed',
    rules: [rule('cpu', { scope: { labels: { env: 'prod' } } })],
    current: { cpu: st({ phase: 'firing', sinceMs: T0, value: 95, lastSampleMs: T0 }) },
    inputs: [report(1, 99, { labels: { env: 'dev' } })],
    now: 1,
    changed: true,
    phases: {},
    outbox: [['cpu', 'removed', undefined]],
    active: [['cpu', null]],
  },
  {
    name: 'a tick reaches only offline rules',
    rules: [rule('cpu', { threshold: 5 }), rule('off', { metric: 'offline', threshold: 30 })],
    inputs: [tick(0, 31)],
    now: 31,
    changed: true,
    phases: { off: 'firing' },
    outbox: [['off', 'firing', 'firing']],
    active: [['off', 'firing']],
  },
  {
    name: 'a tick before the offline threshold changes nothing',
    rules: [rule('off', { metric: 'offline', threshold: 30 })],
    inputs: [tick(0, 30)],
    now: 30,
    changed: false,
    phases: {},
    outbox: [],
    active: [],
  },
  {
    name: 'a report clears a firing offline rule',
    rules: [rule('off', { metric: 'offline', threshold: 30 })],
    current: { off: st({ phase: 'firing', sinceMs: T0 + 31_000, value: 31, lastSampleMs: T0 + 31_000, notifiedFiring: true, lastNotifiedMs: T0 + 31_000 }) },
    inputs: [report(40, 10)],
    now: 40,
    changed: true,
    phases: { off: 'ok' },
    outbox: [['off', 'resolved', 'resolved']],
    active: [['off', null]],
  },
  {
    name: 'a tick on a firing offline rule sends the reminder when due',
    rules: [rule('off', { metric: 'offline', threshold: 30, repeat_s: 60 })],
    current: { off: st({ phase: 'firing', sinceMs: T0 + 31_000, value: 31, lastSampleMs: T0 + 31_000, notifiedFiring: true, lastNotifiedMs: T0 + 31_000 }) },
    inputs: [tick(0, 91)],
    now: 91,
    changed: true,
    phases: { off: 'firing' },
    outbox: [['off', undefined, 'reminder']],
    active: [['off', 'firing']],
  },
  {
    name: 'a rule scoped to other machines is not a candidate',
    rules: [rule('cpu', { scope: { machines: ['m2'] } })],
    inputs: [report(1, 99)],
    now: 1,
    changed: false,
    phases: {},
    outbox: [],
    active: [],
  },
];

describe('stepMachine', () => {
  test.each(CASES)('$name', (c) => {
    const out = run(c.rules, c.current ?? {}, c.inputs, c.now);
    expect(out.changed).toBe(c.changed);
    expect(Object.fromEntries(Object.entries(out.rules).map(([id, s]) => [id, s.phase]))).toEqual(c.phases);
    expect(out.outbox.map((e) => [e.ruleId, e.state, e.notice])).toEqual(c.outbox);
    expect(out.active.map((a) => [a.ruleId, a.alert?.state ?? null])).toEqual(c.active);
    expect(out.unrecorded.map((u) => [u.ruleId, u.state])).toEqual(c.unrecorded ?? []);
    // Ids come from the injected source, in order; every entry names the machine and its rule.
    expect(out.outbox.map((e) => e.id)).toEqual(out.outbox.map((_, i) => `id-${i + 1}`));
    for (const e of out.outbox) expect(e).toMatchObject({ machine: 'm1', ruleName: `rule ${e.ruleId}` });
  });

  test('the same inputs give the same result (no clock, no randomness of its own)', () => {
    const rules = [rule('cpu', { for_s: 2 }), rule('off', { metric: 'offline', threshold: 30 })];
    const inputs = [report(1, 95), report(2, 96), report(3, 97)];
    expect(run(rules, {}, inputs, 3)).toEqual(run(rules, {}, inputs, 3));
  });

  test('the pending entry is dated when the pending phase began; the firing one at the step', () => {
    const out = run([rule('cpu', { for_s: 2 })], {}, [report(1, 95), report(3, 97)], 4);
    expect(out.outbox.map((e) => [e.state, e.at, e.since])).toEqual([
      ['pending', T0 + 1000, T0 + 1000],
      ['firing', T0 + 4000, T0 + 3000],
    ]);
  });
});

describe('action steps', () => {
  const cpu = rule('cpu');
  const firing = st({ phase: 'firing', sinceMs: T0, value: 95, lastSampleMs: T0, notifiedFiring: true });
  const ids = () => {
    let n = 0;
    return () => `a-${++n}`;
  };

  test('acknowledge: the state changes, the active entry follows, one entry records it', () => {
    const out = applyAction('m1', { cpu: firing }, cpu, (s) => (s && s.phase !== 'ok' ? { state: acknowledge(s)!, entry: { state: 'acknowledged', detail: null } } : undefined), T0 + 5000, ids());
    expect(out?.state?.acknowledged).toBe(true);
    expect(out?.active).toEqual([{ ruleId: 'cpu', machine: 'm1', alert: expect.objectContaining({ state: 'firing', acknowledged: true }) }]);
    expect(out?.outbox.map((e) => [e.id, e.state, e.value, e.since])).toEqual([['a-1', 'acknowledged', 95, T0]]);
  });

  test('an action that does not apply writes nothing', () => {
    expect(applyAction('m1', {}, cpu, () => undefined, T0, ids())).toBeUndefined();
  });

  test('a deleted rule: its state goes, recorded as removed; other rules stay', () => {
    const out = removeRule('m1', { cpu: firing, other: st({}) }, cpu, T0 + 1, ids());
    expect(Object.keys(out.rules)).toEqual(['other']);
    expect(out.active).toEqual([{ ruleId: 'cpu', machine: 'm1', alert: null }]);
    expect(out.outbox.map((e) => [e.state, e.detail])).toEqual([['removed', 'rule deleted']]);
    expect(removeRule('m1', {}, cpu, T0, ids()).outbox).toEqual([]);
  });

  test('a forgotten machine: every state goes, only the active ones of known rules are recorded', () => {
    const out = forgetMachine('m1', { cpu: firing, quiet: st({}), unknown: firing }, (id) => (id === 'cpu' || id === 'quiet' ? rule(id) : undefined), T0, ids());
    expect(out.rules).toEqual({});
    expect(out.active.map((a) => [a.ruleId, a.alert])).toEqual([
      ['cpu', null],
      ['quiet', null],
      ['unknown', null],
    ]);
    expect(out.outbox.map((e) => [e.ruleId, e.state, e.detail, e.notice])).toEqual([['cpu', 'removed', 'machine forgotten', undefined]]);
  });
});
