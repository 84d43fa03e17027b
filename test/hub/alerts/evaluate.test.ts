// The alert state machine, table-driven: each case feeds samples to evaluate() and checks the phase,
// the transition and the notification after every step.
import { describe, expect, test } from 'vitest';
import type { EvaluableRule } from '../../../hub/alerts/alert-rule.ts';
import { acknowledge, evaluate, isRecordedStep, OK_STATE, silence, type AlertPhase, type RuleState, type NoticeKind, type TransitionKind } from '../../../hub/alerts/evaluate.ts';

/** Test times are seconds after an arbitrary epoch offset (a sample at time 0 would be "older" than the initial state). */
const at = (t: number) => (1_000 + t) * 1000;

const RULE: EvaluableRule = { op: '>', threshold: 80, clear_threshold: 80, for_s: 0, repeat_s: 0 };

interface Step {
  /** Sample time (s). */
  t: number;
  value: number | null;
  /** Evaluation time (s); default t. */
  now?: number;
  /** Applied to the state before this step (an acknowledgement or a silence arriving). */
  before?: (s: RuleState) => RuleState;
  phase: AlertPhase;
  transition?: TransitionKind;
  notice?: NoticeKind;
}

interface Case {
  name: string;
  rule?: Partial<EvaluableRule>;
  steps: Step[];
}

const CASES: Case[] = [
  {
    name: 'below the threshold stays ok',
    steps: [
      { t: 1, value: 10, phase: 'ok' },
      { t: 2, value: 80, phase: 'ok' },
    ],
  },
  {
    name: 'for_s 0: ok → firing at once, notified once, resolved once',
    steps: [
      { t: 1, value: 81, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 2, value: 95, phase: 'firing' },
      { t: 3, value: 50, phase: 'ok', transition: 'resolved', notice: 'resolved' },
      { t: 4, value: 40, phase: 'ok' },
    ],
  },
  {
    name: 'for_s: ok → pending → firing only once the breach held long enough',
    rule: { for_s: 2 },
    steps: [
      { t: 10, value: 90, phase: 'pending', transition: 'pending' },
      { t: 11, value: 91, phase: 'pending' },
      { t: 12, value: 92, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 13, value: 93, phase: 'firing' },
      { t: 14, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
    ],
  },
  {
    name: 'for_s: a dip back under the threshold cancels pending (→ ok) and restarts the clock',
    rule: { for_s: 2 },
    steps: [
      { t: 10, value: 90, phase: 'pending', transition: 'pending' },
      { t: 11, value: 70, phase: 'ok', transition: 'ok' },
      { t: 12, value: 90, phase: 'pending', transition: 'pending' },
      { t: 13, value: 90, phase: 'pending' },
      { t: 14, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
    ],
  },
  {
    name: 'hysteresis: firing holds between clear_threshold and threshold, clears at or below clear_threshold',
    rule: { threshold: 90, clear_threshold: 70 },
    steps: [
      { t: 1, value: 95, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 2, value: 85, phase: 'firing' },
      { t: 3, value: 71, phase: 'firing' },
      { t: 4, value: 70, phase: 'ok', transition: 'resolved', notice: 'resolved' },
      // Below threshold but above clear: ok stays ok (no re-fire until the threshold is crossed again).
      { t: 5, value: 85, phase: 'ok' },
      { t: 6, value: 91, phase: 'firing', transition: 'firing', notice: 'firing' },
    ],
  },
  {
    name: 'op "<": fires below the threshold, clears at or above clear_threshold',
    rule: { op: '<', threshold: 10, clear_threshold: 20 },
    steps: [
      { t: 1, value: 15, phase: 'ok' },
      { t: 2, value: 9, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 3, value: 15, phase: 'firing' },
      { t: 4, value: 20, phase: 'ok', transition: 'resolved', notice: 'resolved' },
    ],
  },
  {
    name: 'op "<" with for_s',
    rule: { op: '<', threshold: 10, clear_threshold: 10, for_s: 5 },
    steps: [
      { t: 0, value: 5, phase: 'pending', transition: 'pending' },
      { t: 4, value: 5, phase: 'pending' },
      { t: 5, value: 5, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 6, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
    ],
  },
  {
    name: 'missing values change nothing: firing does not resolve, pending does not fire',
    rule: { for_s: 2 },
    steps: [
      { t: 1, value: 90, phase: 'pending', transition: 'pending' },
      { t: 5, value: null, phase: 'pending' },
      { t: 6, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 7, value: null, phase: 'firing' },
      { t: 8, value: Number.NaN, phase: 'firing' },
      { t: 9, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
    ],
  },
  {
    name: 'old and repeated samples are ignored (redelivery, reordering)',
    steps: [
      { t: 5, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 5, value: 90, phase: 'firing' },
      { t: 4, value: 10, phase: 'firing' },
      { t: 6, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
      { t: 5, value: 90, phase: 'ok' },
    ],
  },
  {
    name: 'reminders every repeat_s while firing, none after resolving',
    rule: { repeat_s: 60 },
    steps: [
      { t: 0, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 30, value: 90, phase: 'firing' },
      { t: 60, value: 90, phase: 'firing', notice: 'reminder' },
      { t: 100, value: 90, phase: 'firing' },
      { t: 121, value: 90, phase: 'firing', notice: 'reminder' },
      { t: 200, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
      { t: 300, value: 10, phase: 'ok' },
    ],
  },
  {
    name: 'acknowledged: no more reminders; the resolve still notifies; a new episode starts unacknowledged',
    rule: { repeat_s: 10 },
    steps: [
      { t: 0, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 10, value: 90, phase: 'firing', notice: 'reminder' },
      { t: 15, value: 90, phase: 'firing', before: (s) => acknowledge(s)! },
      { t: 30, value: 90, phase: 'firing' },
      { t: 60, value: 90, phase: 'firing' },
      { t: 61, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
      { t: 62, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 72, value: 90, phase: 'firing', notice: 'reminder' },
    ],
  },
  {
    name: 'silenced: transitions happen, notifications wait; firing goes out when the silence ends',
    rule: { repeat_s: 10 },
    steps: [
      { t: 0, value: 50, phase: 'ok', before: (s) => silence(s, at(20)) },
      { t: 1, value: 90, phase: 'firing', transition: 'firing' },
      { t: 12, value: 90, phase: 'firing' },
      { t: 20, value: 90, phase: 'firing', notice: 'firing' },
      { t: 30, value: 90, phase: 'firing', notice: 'reminder' },
      { t: 31, value: 10, phase: 'ok', transition: 'resolved', notice: 'resolved' },
    ],
  },
  {
    name: 'silenced through a whole episode: neither firing nor resolved is sent',
    steps: [
      { t: 0, value: 50, phase: 'ok', before: (s) => silence(s, at(100)) },
      { t: 1, value: 90, phase: 'firing', transition: 'firing' },
      { t: 2, value: 10, phase: 'ok', transition: 'resolved' },
    ],
  },
  {
    name: 'notified, then silenced: the resolve is held back too',
    steps: [
      { t: 1, value: 90, phase: 'firing', transition: 'firing', notice: 'firing' },
      { t: 2, value: 90, phase: 'firing', before: (s) => silence(s, at(50)) },
      { t: 3, value: 10, phase: 'ok', transition: 'resolved' },
    ],
  },
  {
    name: 'silence timing uses the evaluation time, the for duration the sample time',
    rule: { for_s: 10 },
    steps: [
      { t: 0, value: 90, now: 100, phase: 'pending', transition: 'pending', before: (s) => silence(s, at(105)) },
      // 10 s of samples, although evaluated 1 s later: fires; still silenced at now = 101.
      { t: 10, value: 90, now: 101, phase: 'firing', transition: 'firing' },
      { t: 11, value: 90, now: 106, phase: 'firing', notice: 'firing' },
    ],
  },
];

describe('evaluate(rule, state, sample, now)', () => {
  test.each(CASES)('$name', ({ rule, steps }) => {
    const r = { ...RULE, ...rule };
    let state: RuleState = OK_STATE;
    steps.forEach((step, i) => {
      if (step.before) state = step.before(state);
      const result = evaluate(r, state, { value: step.value, timeMs: at(step.t) }, at(step.now ?? step.t));
      const where = `step ${i} (t=${step.t}, value=${step.value})`;
      expect(result.state.phase, where).toBe(step.phase);
      expect(result.transition, where).toBe(step.transition);
      expect(result.notice, where).toBe(step.notice);
      if (result.transition === 'pending' || result.transition === 'firing') expect(result.state.sinceMs, where).toBe(at(step.t));
      state = result.state;
    });
  });

  test('an ok rule seeing harmless samples reports no change (nothing to store)', () => {
    const r = evaluate(RULE, OK_STATE, { value: 10, timeMs: 1000 }, 1000);
    expect(r.changed).toBe(false);
    expect(r.state).toBe(OK_STATE);
  });

  test('a firing rule reports a change on every new value (the API shows the current value)', () => {
    const firing = evaluate(RULE, OK_STATE, { value: 90, timeMs: 1000 }, 1000).state;
    const next = evaluate(RULE, firing, { value: 91, timeMs: 2000 }, 2000);
    expect(next.changed).toBe(true);
    expect(next.state.value).toBe(91);
    expect(next.state.sinceMs).toBe(1000);
  });

  test('the input state is never mutated', () => {
    const before = structuredClone(OK_STATE);
    const state = { ...OK_STATE };
    evaluate(RULE, state, { value: 90, timeMs: 1000 }, 1000);
    expect(state).toEqual(before);
  });

  test('acknowledge needs an active alert; silence works in any phase', () => {
    expect(acknowledge(OK_STATE)).toBeUndefined();
    const firing = evaluate(RULE, OK_STATE, { value: 90, timeMs: 1000 }, 1000).state;
    expect(acknowledge(firing)?.acknowledged).toBe(true);
    expect(silence(OK_STATE, 5000).silencedUntilMs).toBe(5000);
    expect(silence(silence(OK_STATE, 5000), 0).silencedUntilMs).toBe(0);
  });
});

describe('isRecordedStep', () => {
  test.each([
    [{ transition: 'pending', notice: undefined }, false],
    [{ transition: 'ok', notice: undefined }, false],
    [{ transition: undefined, notice: undefined }, false],
    [{ transition: 'firing', notice: 'firing' }, true],
    [{ transition: 'firing', notice: undefined }, true],
    [{ transition: 'resolved', notice: undefined }, true],
    [{ transition: undefined, notice: 'reminder' }, true],
  ] as const)('%o → %s', (ev, recorded) => {
    expect(isRecordedStep(ev)).toBe(recorded);
  });
});
