// A bounded time series in uPlot's columnar layout ([times_s, values...]): new samples append, the
// oldest fall off. Used for fleet sparklines and for the live charts of the machine view.

export interface SeriesRing {
  readonly capacity: number;
  readonly length: number;
  /** Appends one sample; a sample not newer than the last one is ignored (replays, duplicate deltas). */
  push(tMs: number, values: ReadonlyArray<number | null>): boolean;
  /** Prepends older samples (e.g. the hub's recent ring fetched after live data began); keeps order. */
  seed(samples: ReadonlyArray<{ tMs: number; values: ReadonlyArray<number | null> }>): void;
  /** Drops samples older than tMs. */
  trimBefore(tMs: number): void;
  /** Columns for uPlot: index 0 = times in seconds, then one column per series. */
  columns(): [number[], ...(number | null)[][]];
  lastTimeMs(): number | undefined;
  clear(): void;
}

export function createSeriesRing(seriesCount: number, capacity: number): SeriesRing {
  let times: number[] = [];
  let cols: (number | null)[][] = Array.from({ length: seriesCount }, () => []);

  const dropOverflow = () => {
    const extra = times.length - capacity;
    if (extra > 0) {
      times.splice(0, extra);
      for (const c of cols) c.splice(0, extra);
    }
  };

  return {
    capacity,
    get length() {
      return times.length;
    },
    push(tMs, values) {
      const t = tMs / 1000;
      if (times.length > 0 && t <= times[times.length - 1]) return false;
      times.push(t);
      for (let i = 0; i < seriesCount; i++) {
        const v = values[i];
        cols[i].push(typeof v === 'number' && Number.isFinite(v) ? v : null);
      }
      dropOverflow();
      return true;
    },
    seed(samples) {
      const first = times.length > 0 ? times[0] : Infinity;
      const older = samples.filter((s) => s.tMs / 1000 < first).sort((a, b) => a.tMs - b.tMs);
      if (older.length === 0) return;
      const newTimes: number[] = [];
      const newCols: (number | null)[][] = Array.from({ length: seriesCount }, () => []);
      let lastT = -Infinity;
      for (const s of older) {
        const t = s.tMs / 1000;
        if (t <= lastT) continue;
        lastT = t;
        newTimes.push(t);
        for (let i = 0; i < seriesCount; i++) {
          const v = s.values[i];
          newCols[i].push(typeof v === 'number' && Number.isFinite(v) ? v : null);
        }
      }
      times = newTimes.concat(times);
      cols = newCols.map((c, i) => c.concat(cols[i]));
      dropOverflow();
    },
    trimBefore(tMs) {
      const t = tMs / 1000;
      let n = 0;
      while (n < times.length && times[n] < t) n++;
      if (n > 0) {
        times.splice(0, n);
        for (const c of cols) c.splice(0, n);
      }
    },
    columns() {
      return [times, ...cols];
    },
    lastTimeMs() {
      return times.length > 0 ? times[times.length - 1] * 1000 : undefined;
    },
    clear() {
      times = [];
      cols = Array.from({ length: seriesCount }, () => []);
    },
  };
}
