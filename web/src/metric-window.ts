// The data behind the machine view's charts: one time series per metric, filled from the hub's history
// or recent ring, extended by live samples, trimmed to the chosen time window, and joined into uPlot's
// aligned columns (times in seconds, null where a metric has no value at a time). Pure.
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
