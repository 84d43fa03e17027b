// The data behind the machine view's charts: one time series per metric, filled from the hub's history
// or recent ring, extended by live samples, trimmed to the chosen time window, and joined into uPlot's
// aligned columns (times in seconds, null where a metric has no value at a time); and where lines must
// break because data is missing (gaps). Pure.
import type { MetricName } from '../../proto/metrics.ts';

export type Point = [tMs: number, value: number | null];

export interface MetricWindow {
  /** Replaces a metric's points (from the history API: ascending [t_ms, value]). */
  set(metric: MetricName, points: readonly Point[]): void;
  /** Appends one live sample for every metric given; ignored for a metric whose last point is not older. */
  append(tMs: number, values: Partial<Record<MetricName, number | null>>): void;
  trimBefore(tMs: number): void;
  lastTimeMs(): number | undefined;
  /** Aligned columns for the given metrics: [times_s, values of metric 1, ...]. */
  table(metrics: readonly MetricName[]): [number[], ...(number | null)[][]];
  clear(): void;
}

export function createMetricWindow(maxPointsPerMetric = 20_000): MetricWindow {
  const series = new Map<MetricName, Point[]>();
  const get = (metric: MetricName) => {
    let s = series.get(metric);
    if (!s) {
      s = [];
      series.set(metric, s);
    }
    return s;
  };

  return {
    set(metric, points) {
      const clean = points.filter((p) => Number.isFinite(p[0])).slice().sort((a, b) => a[0] - b[0]);
      series.set(metric, clean.slice(-maxPointsPerMetric));
    },
    append(tMs, values) {
      for (const [metric, value] of Object.entries(values) as [MetricName, number | null | undefined][]) {
        if (value === undefined) continue;
        const s = get(metric);
        if (s.length > 0 && s[s.length - 1][0] >= tMs) continue;
        s.push([tMs, typeof value === 'number' && Number.isFinite(value) ? value : null]);
        if (s.length > maxPointsPerMetric) s.splice(0, s.length - maxPointsPerMetric);
      }
    },
    trimBefore(tMs) {
      for (const s of series.values()) {
        let n = 0;
        while (n < s.length && s[n][0] < tMs) n++;
        if (n > 0) s.splice(0, n);
      }
    },
    lastTimeMs() {
      let last: number | undefined;
      for (const s of series.values()) if (s.length > 0 && (last === undefined || s[s.length - 1][0] > last)) last = s[s.length - 1][0];
      return last;
    },
    table(metrics) {
      const columns = metrics.map((m) => series.get(m) ?? []);
      const timeSet = new Set<number>();
      for (const c of columns) for (const p of c) timeSet.add(p[0]);
      const times = [...timeSet].sort((a, b) => a - b);
      const index = new Map<number, number>();
      times.forEach((t, i) => index.set(t, i));
      const out: (number | null)[][] = columns.map((c) => {
        const col: (number | null)[] = new Array(times.length).fill(null);
        for (const [t, v] of c) col[index.get(t)!] = v;
        return col;
      });
      return [times.map((t) => t / 1000), ...out];
    },
    clear() {
      series.clear();
    },
  };
}

/** The nominal spacing of a history answer's points: the tier's step, or the machine's interval for raw and live data. */
export function nominalStepMs(step: string, intervalMs: number): number {
  if (step === '1m') return 60_000;
  if (step === '1h') return 3_600_000;
  return Math.max(1, intervalMs);
}

/**
 * How far apart two neighbouring points may be before the line between them is broken: twice the
 * larger of the nominal step and the typical (median) spacing of the data (thinned history is wider
 * spaced than its tier). Seconds, like uPlot's x values.
 */
export function gapThresholdS(times: readonly number[], nominalS: number): number {
  const spacings: number[] = [];
  for (let i = 1; i < times.length; i++) spacings.push(times[i] - times[i - 1]);
  spacings.sort((a, b) => a - b);
  const median = spacings.length ? spacings[Math.floor(spacings.length / 2)] : 0;
  return 2 * Math.max(nominalS, median);
}

/**
 * Breaks lines where data is missing: between two points further apart than `maxGapS` a row of nulls
 * is inserted (uPlot draws no line through a null when spanGaps is off). Returns the new columns and
 * how many gaps were found. Pure.
 */
export function breakGaps(table: readonly [readonly number[], ...(readonly (number | null)[])[]], maxGapS: number): { data: [number[], ...(number | null)[][]]; gaps: number } {
  const [times, ...cols] = table;
  const outTimes: number[] = [];
  const outCols: (number | null)[][] = cols.map(() => []);
  let gaps = 0;
  for (let i = 0; i < times.length; i++) {
    if (i > 0 && times[i] - times[i - 1] > maxGapS) {
      gaps++;
      outTimes.push((times[i - 1] + times[i]) / 2);
      for (const c of outCols) c.push(null);
    }
    outTimes.push(times[i]);
    cols.forEach((c, j) => outCols[j].push(c[i]));
  }
  return { data: [outTimes, ...outCols], gaps };
}

/** Points with a value in the fullest of the columns (what a chart caption counts). */
export function countPoints(table: readonly [readonly number[], ...(readonly (number | null)[])[]]): number {
  let most = 0;
  for (const c of table.slice(1) as (readonly (number | null)[])[]) {
    let n = 0;
    for (const v of c) if (v !== null) n++;
    most = Math.max(most, n);
  }
  return most;
}
