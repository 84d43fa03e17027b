// Reads histograms out of a Prometheus text exposition (the hub's /metrics, when it serves one) so a
// benchmark can report the hub's own latency histograms next to its outside measurements: buckets are
// summed over label sets, two scrapes are subtracted to get one window, and quantiles are estimated by
// linear interpolation inside a bucket like PromQL's histogram_quantile. Pure.

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  buckets: Array<[le: number, count: number]>;
  sum: number;
  count: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Every histogram family in the text, by name (labels other than `le` summed away). */
export function parseHistograms(text: string): Map<string, Histogram> {
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (m) types.set(m[1], m[2]);
  }
  const byName = new Map<string, { buckets: Map<number, number>; sum: number; count: number }>();
  const family = (name: string) => {
    let f = byName.get(name);
    if (!f) byName.set(name, (f = { buckets: new Map(), sum: 0, count: 0 }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, metric, labels = '', raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    for (const suffix of ['_bucket', '_sum', '_count'] as const) {
      if (!metric.endsWith(suffix)) continue;
      const name = metric.slice(0, -suffix.length);
      if (types.get(name) !== 'histogram') continue;
      const f = family(name);
      if (suffix === '_sum') f.sum += value;
      else if (suffix === '_count') f.count += value;
      else {
        const le = /le="([^"]+)"/.exec(labels)?.[1];
        if (le === undefined) continue;
        const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
        f.buckets.set(bound, (f.buckets.get(bound) ?? 0) + value);
      }
    }
  }
  const out = new Map<string, Histogram>();
  for (const [name, f] of byName) out.set(name, { buckets: [...f.buckets.entries()].sort((a, b) => a[0] - b[0]), sum: f.sum, count: f.count });
  return out;
}

/** later − earlier, bucket by bucket (the observations made between two scrapes). */
export function subtractHistogram(later: Histogram, earlier: Histogram | undefined): Histogram {
  if (!earlier) return later;
  const before = new Map(earlier.buckets);
  return {
    buckets: later.buckets.map(([le, c]) => [le, c - (before.get(le) ?? 0)] as [number, number]),
    sum: later.sum - earlier.sum,
    count: later.count - earlier.count,
  };
}

/** The q-quantile (0..1) estimated like histogram_quantile(); NaN without observations. */
export function histogramQuantile(h: Histogram, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within 0..1 (got ${q})`);
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of h.buckets) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe; // beyond the last finite bound: its value is all we know
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
