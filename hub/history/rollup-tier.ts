// Which history tier answers a time range, and how to thin a series that is still too long.
// Pure: no clock inside (callers pass `nowMs` when retention should be respected), table-tested.
//
// Sizing, assuming the fastest collector interval of 1 s:
//   raw ≤ 25 min  → ≤ 1500 points      1m ≤ 25 h → ≤ 1500 points      1h beyond (1500 h ≈ 62 days;
//   longer ranges are thinned by downsample()). Raw rows are gone after the raw retention (7 d by
//   default) and 1 min rows after theirs (90 d), so with `nowMs` auto skips a tier whose retention
//   does not reach back to `fromMs`.
import type { HistoryPoint, HistoryStep } from './history-store.ts';

export type RequestedStep = 'auto' | HistoryStep;

/** Most points an `auto` history answer carries (the dashboard chart is ~1500 px wide at most). */
export const MAX_HISTORY_POINTS = 1500;
/** An explicitly requested tier is honoured up to this many points, else the next coarser tier is used. */
export const MAX_EXPLICIT_POINTS = 20_000;

/** Nominal spacing of points per tier (raw: the fastest collector interval). */
export const STEP_MS: Readonly<Record<HistoryStep, number>> = { raw: 1000, '1m': 60_000, '1h': 3_600_000 };

const DAY_MS = 86_400_000;

export interface HistoryRetentionDays {
  readonly rawDays: number;
  readonly oneMinuteDays: number;
  readonly oneHourDays: number;
}

export const DEFAULT_RETENTION: HistoryRetentionDays = Object.freeze({ rawDays: 7, oneMinuteDays: 90, oneHourDays: 730 });

export interface StepContext {
  /** When given, auto never picks a tier whose retention ended after `fromMs`. */
  readonly nowMs?: number;
  readonly retention?: HistoryRetentionDays;
}

const TIERS: readonly HistoryStep[] = ['raw', '1m', '1h'];

function retentionMs(step: HistoryStep, r: HistoryRetentionDays): number {
  return (step === 'raw' ? r.rawDays : step === '1m' ? r.oneMinuteDays : r.oneHourDays) * DAY_MS;
}

/** Expected point count of a range at a tier. */
export function pointsAt(step: HistoryStep, fromMs: number, toMs: number): number {
  return Math.max(0, toMs - fromMs) / STEP_MS[step];
}

export function chooseStep(fromMs: number, toMs: number, requested: RequestedStep, context: StepContext = {}): HistoryStep {
  if (requested !== 'auto') {
    // Honour an explicit tier unless it would return an unreasonable number of rows.
    for (const step of TIERS.slice(TIERS.indexOf(requested))) {
      if (step === '1h' || pointsAt(step, fromMs, toMs) <= MAX_EXPLICIT_POINTS) return step;
    }
    return '1h';
  }
  const retention = context.retention ?? DEFAULT_RETENTION;
  for (const step of TIERS) {
    if (step === '1h') return step;
    if (pointsAt(step, fromMs, toMs) > MAX_HISTORY_POINTS) continue;
    if (context.nowMs !== undefined && fromMs < context.nowMs - retentionMs(step, retention)) continue;
    return step;
  }
  return '1h';
}

/**
 * Thins a series to at most `maxPoints` with largest-triangle-three-buckets: keeps the first and the
 * last point and, per bucket, the point that spans the largest triangle with its neighbours, so
 * peaks and dips survive (a plain average would flatten the spike an operator is looking for).
 * Returns the input itself when it is short enough.
 */
export function downsample(points: readonly HistoryPoint[], maxPoints: number): HistoryPoint[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new RangeError(`maxPoints must be a positive integer, got ${maxPoints}`);
  const n = points.length;
  if (n <= maxPoints) return points as HistoryPoint[];
  if (maxPoints === 1) return [points[n - 1]];
  if (maxPoints === 2) return [points[0], points[n - 1]];
  const out: HistoryPoint[] = [points[0]];
  const every = (n - 2) / (maxPoints - 2);
  let a = 0;
  for (let i = 0; i < maxPoints - 2; i++) {
    // Average of the next bucket: the third corner of the triangle.
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgT = 0;
    let avgV = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgT += points[j][0];
      avgV += points[j][1];
    }
    const count = nextEnd - nextStart;
    avgT /= count;
    avgV /= count;
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    const [aT, aV] = points[a];
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const area = Math.abs((aT - avgT) * (points[j][1] - aV) - (aT - points[j][0]) * (avgV - aV));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]);
    a = best;
  }
  out.push(points[n - 1]);
  return out;
}
