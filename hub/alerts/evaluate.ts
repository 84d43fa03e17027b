// The alert state machine, pure: evaluate(rule, state, sample, now) → the next state, the transition
// it made (if any) and the notification it calls for (if any). No clock, no randomness, no I/O.
//
//   ok ──breach──▶ pending ──breach held for `for_s`──▶ firing ──value past clear_threshold──▶ resolved (→ ok)
//    ▲               │ no breach                            (for_s = 0: ok ──breach──▶ firing)
//    └───────────────┘
//
// - Phase timing (`for_s`) uses sample times; notification gating (silence, reminders) uses `now`.
// - A sample at or before the newest one already applied is ignored: a redelivered or reordered event
//   changes nothing, which makes evaluation idempotent across hubs.
// - A missing value (the machine has no such metric right now) changes nothing: a firing alert does not
//   resolve for lack of data, a pending one does not fire.
// - Hysteresis: breach is `value op threshold`; a firing alert clears only when the value reaches the
//   clear threshold (op ">": value <= clear_threshold; op "<": value >= clear_threshold).
// - Notifications: "firing" once per firing episode, and only when not silenced (a silence that ends
//   while still firing lets it out then); "reminder" every repeat_s while firing, unless acknowledged or
//   silenced; "resolved" once, only if "firing" went out.
import type { EvaluableRule } from './alert-rule.ts';

export type AlertPhase = 'ok' | 'pending' | 'firing';

export interface RuleState {
  phase: AlertPhase;
  /** When the current phase began (sample time, ms). */
  sinceMs: number;
  /** The last value evaluated. */
  value: number | null;
  /** The newest sample applied (ms); older or equal samples are ignored. */
  lastSampleMs: number;
  /** The "firing" notification went out for the current firing episode. */
  notifiedFiring: boolean;
  /** When the last firing or reminder notification was decided (ms). */
  lastNotifiedMs: number;
  /** Acknowledged by someone: no more reminders for this episode. */
  acknowledged: boolean;
  /** Notifications are held back until this time (ms; 0 = not silenced). */
  silencedUntilMs: number;
}

export const OK_STATE: Readonly<RuleState> = Object.freeze({
  phase: 'ok',
  sinceMs: 0,
  value: null,
  lastSampleMs: 0,
  notifiedFiring: false,
  lastNotifiedMs: 0,
  acknowledged: false,
  silencedUntilMs: 0,
});

export interface Sample {
  /** null: the machine has no such value now. */
  value: number | null;
  timeMs: number;
}

/** Phase changes, as stored in alert_events.state ("ok": a pending alert that did not fire). */
export type TransitionKind = 'pending' | 'firing' | 'resolved' | 'ok';
export type NoticeKind = 'firing' | 'reminder' | 'resolved';

export interface Evaluation {
  state: RuleState;
  transition: TransitionKind | undefined;
  notice: NoticeKind | undefined;
  /** False when nothing worth storing changed (an ok rule seeing another harmless sample). */
  changed: boolean;
}

export function breaches(rule: Pick<EvaluableRule, 'op' | 'threshold'>, value: number): boolean {
  return rule.op === '>' ? value > rule.threshold : value < rule.threshold;
}

export function clears(rule: Pick<EvaluableRule, 'op' | 'clear_threshold'>, value: number): boolean {
  return rule.op === '>' ? value <= rule.clear_threshold : value >= rule.clear_threshold;
}

export function isSilenced(state: Pick<RuleState, 'silencedUntilMs'>, nowMs: number): boolean {
  return nowMs < state.silencedUntilMs;
}

const unchanged = (state: RuleState): Evaluation => ({ state, transition: undefined, notice: undefined, changed: false });

export function evaluate(rule: EvaluableRule, state: RuleState, sample: Sample, nowMs: number): Evaluation {
  if (sample.timeMs <= state.lastSampleMs) return unchanged(state);
  if (sample.value === null || !Number.isFinite(sample.value)) return unchanged(state);
  const value = sample.value;
  const t = sample.timeMs;
  let next: RuleState = { ...state, value, lastSampleMs: t };
  let transition: TransitionKind | undefined;
  let notice: NoticeKind | undefined;

  const fire = () => {
    next = { ...next, phase: 'firing', sinceMs: t, notifiedFiring: false, lastNotifiedMs: 0, acknowledged: false };
    transition = 'firing';
  };

  if (state.phase === 'ok') {
    if (breaches(rule, value)) {
      if (rule.for_s <= 0) fire();
      else {
        next = { ...next, phase: 'pending', sinceMs: t };
        transition = 'pending';
      }
    }
  } else if (state.phase === 'pending') {
    if (!breaches(rule, value)) {
      next = { ...next, phase: 'ok', sinceMs: t };
      transition = 'ok';
    } else if (t - state.sinceMs >= rule.for_s * 1000) {
      fire();
    }
  } else if (clears(rule, value)) {
    if (state.notifiedFiring && !isSilenced(state, nowMs)) notice = 'resolved';
    next = { ...next, phase: 'ok', sinceMs: t, notifiedFiring: false, lastNotifiedMs: 0, acknowledged: false };
    transition = 'resolved';
  }

  if (next.phase === 'firing' && !isSilenced(next, nowMs)) {
    if (!next.notifiedFiring) {
      notice = 'firing';
      next = { ...next, notifiedFiring: true, lastNotifiedMs: nowMs };
    } else if (rule.repeat_s > 0 && !next.acknowledged && nowMs - next.lastNotifiedMs >= rule.repeat_s * 1000) {
      notice = 'reminder';
      next = { ...next, lastNotifiedMs: nowMs };
    }
  }

  const changed = transition !== undefined || notice !== undefined || next.phase !== 'ok';
  return { state: changed ? next : state, transition, notice, changed };
}

/**
 * Whether an evaluation is recorded (an alert_events row, an info log line): firing, resolved and every
 * notification are; a pending phase is recorded only once it leads to firing, so a pending that ends
 * without firing (a short spike) leaves no trace but its debug line.
 */
export function isRecordedStep(ev: Pick<Evaluation, 'transition' | 'notice'>): boolean {
  return ev.notice !== undefined || ev.transition === 'firing' || ev.transition === 'resolved';
}

/** Acknowledging stops reminders for the current episode. Only a pending or firing alert can be acknowledged. */
export function acknowledge(state: RuleState): RuleState | undefined {
  if (state.phase === 'ok') return undefined;
  return { ...state, acknowledged: true };
}

/** Holds notifications back until `untilMs` (0 lifts a silence). Allowed in any phase: a silence may precede trouble. */
export function silence(state: RuleState, untilMs: number): RuleState {
  return { ...state, silencedUntilMs: Math.max(0, untilMs) };
}
