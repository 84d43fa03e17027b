// A machine's recent points kept compactly: one Float64Array row per point (time + one column per
// metric name seen), instead of one metrics object per point. Object-per-point rings cost ~150 KB per
// machine at 300 points; this costs 8 bytes per value. A null metric (not measured) is stored as NaN
// (a measured one is always finite: validate-report.ts) and read back as null.
import type { Metrics } from '../../proto/metrics.ts';
import type { RecentPoint } from './state-store.ts';

export interface RecentRing {
  push(point: RecentPoint): void;
  /** The newest `limit` points, oldest first. */
  last(limit: number): RecentPoint[];
  readonly size: number;
}

export function createRecentRing(capacity: number): RecentRing {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
  let keys: string[] = [];
  let column = new Map<string, number>();
  let width = 1; // time + keys
  let rows = new Float64Array(capacity * width);
  let start = 0;
  let size = 0;

  /** Adds columns for names this point has and the ring has not seen; old rows get NaN there. */
  function widen(metrics: Metrics): void {
    const added = Object.keys(metrics).filter((k) => !column.has(k));
    if (added.length === 0) return;
    const nextKeys = [...keys, ...added];
    const nextWidth = 1 + nextKeys.length;
    const next = new Float64Array(capacity * nextWidth).fill(Number.NaN);
    for (let r = 0; r < capacity; r++) next.set(rows.subarray(r * width, r * width + width), r * nextWidth);
    keys = nextKeys;
    column = new Map(keys.map((k, i) => [k, i + 1]));
    width = nextWidth;
    rows = next;
  }

  return {
    get size() {
      return size;
    },
    push(point) {
      widen(point.metrics);
      const slot = (start + size) % capacity;
      const base = slot * width;
      rows.fill(Number.NaN, base, base + width);
      rows[base] = point.t;
      for (const [k, v] of Object.entries(point.metrics)) if (v !== null) rows[base + column.get(k)!] = v;
      if (size < capacity) size++;
      else start = (start + 1) % capacity;
    },
    last(limit) {
      const n = Math.max(0, Math.min(size, Math.floor(limit)));
      const out: RecentPoint[] = [];
      for (let i = size - n; i < size; i++) {
        const base = ((start + i) % capacity) * width;
        const metrics: Record<string, number | null> = {};
        for (let c = 0; c < keys.length; c++) {
          const v = rows[base + 1 + c];
          metrics[keys[c]] = Number.isNaN(v) ? null : v;
        }
        out.push({ t: rows[base], metrics: metrics as Metrics });
      }
      return out;
    },
  };
}
