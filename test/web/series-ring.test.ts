import { describe, expect, it } from 'vitest';
import { createSeriesRing } from '../../web/src/series-ring.ts';

describe('createSeriesRing', () => {
  it('keeps the newest samples up to its capacity, in uPlot column layout (seconds)', () => {
    const r = createSeriesRing(2, 3);
    for (let i = 1; i <= 5; i++) r.push(i * 1000, [i, i * 10]);
    expect(r.columns()).toEqual([
      [3, 4, 5],
      [3, 4, 5],
      [30, 40, 50],
    ]);
    expect(r.lastTimeMs()).toBe(5000);
  });

  it('ignores samples not newer than the last; stores non-finite values as gaps', () => {
    const r = createSeriesRing(1, 10);
    expect(r.push(2000, [1])).toBe(true);
    expect(r.push(2000, [2])).toBe(false);
    expect(r.push(1000, [3])).toBe(false);
    r.push(3000, [Number.NaN]);
    r.push(4000, [null]);
    expect(r.columns()).toEqual([[2, 3, 4], [1, null, null]]);
  });

  it('seeds older samples in front, skipping overlap, and keeps the newest when over capacity', () => {
    const r = createSeriesRing(1, 4);
    r.push(5000, [5]);
    r.push(6000, [6]);
    r.seed([
      { tMs: 6000, values: [60] },
      { tMs: 3000, values: [3] },
      { tMs: 1000, values: [1] },
      { tMs: 4000, values: [4] },
      { tMs: 4000, values: [44] },
    ]);
    expect(r.columns()).toEqual([[3, 4, 5, 6], [3, 4, 5, 6]]);
  });

  it('trims by time and clears', () => {
    const r = createSeriesRing(1, 10);
    for (let i = 1; i <= 5; i++) r.push(i * 1000, [i]);
    r.trimBefore(3500);
    expect(r.columns()).toEqual([[4, 5], [4, 5]]);
    r.clear();
    expect(r.length).toBe(0);
    expect(r.lastTimeMs()).toBeUndefined();
  });
});
