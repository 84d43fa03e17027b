import { describe, expect, it, test } from 'vitest';
import { breakGaps, countPoints, createMetricWindow, gapThresholdS, nominalStepMs } from '../../web/src/metric-window.ts';

describe('createMetricWindow', () => {
  it('joins metrics on time with nulls where one has no value', () => {
    const w = createMetricWindow();
    w.set('cpu_percent', [
      [2000, 20],
      [1000, 10],
    ]);
    w.set('memory_percent', [
      [2000, 50],
      [3000, 60],
    ]);
    expect(w.table(['cpu_percent', 'memory_percent'])).toEqual([
      [1, 2, 3],
      [10, 20, null],
      [null, 50, 60],
    ]);
    expect(w.table(['swap_percent'])).toEqual([[], []]);
  });

  it('appends live samples after history, ignores stale ones, trims the window', () => {
    const w = createMetricWindow();
    w.set('cpu_percent', [[1000, 1]]);
    w.append(2000, { cpu_percent: 2, load_avg_1m: 0.5 });
    w.append(1500, { cpu_percent: 99 });
    w.append(3000, { cpu_percent: Number.NaN });
    expect(w.table(['cpu_percent'])).toEqual([
      [1, 2, 3],
      [1, 2, null],
    ]);
    expect(w.lastTimeMs()).toBe(3000);
    w.trimBefore(2500);
    expect(w.table(['cpu_percent', 'load_avg_1m'])).toEqual([[3], [null], [null]]);
  });

  it('bounds the points per metric', () => {
    const w = createMetricWindow(3);
    for (let i = 1; i <= 10; i++) w.append(i, { cpu_percent: i });
    expect(w.table(['cpu_percent'])[1]).toEqual([8, 9, 10]);
  });
});

describe('gaps and counts', () => {
  test('nominal steps: tiers, else the interval', () => {
    expect([nominalStepMs('1m', 1000), nominalStepMs('1h', 1000), nominalStepMs('raw', 500), nominalStepMs('auto', 0)]).toEqual([60_000, 3_600_000, 500, 1]);
  });

  test('the gap threshold is twice the larger of the step and the median spacing', () => {
    expect(gapThresholdS([0, 1, 2, 3, 30, 31], 1)).toBe(2);
    // Thinned history: points 10 s apart on a 1 s tier are not gaps.
    expect(gapThresholdS([0, 10, 20, 30], 1)).toBe(20);
    expect(gapThresholdS([5], 60)).toBe(120);
  });

  test('a null row is inserted in each gap, so the line breaks there', () => {
    const { data, gaps } = breakGaps([[0, 1, 2, 22, 23], [1, 2, 3, 4, 5], [null, 1, 1, 1, null]], 2);
    expect(gaps).toBe(1);
    expect(data).toEqual([[0, 1, 2, 12, 22, 23], [1, 2, 3, null, 4, 5], [null, 1, 1, null, 1, null]]);
    expect(breakGaps([[0, 1, 2], [1, 1, 1]], 2)).toEqual({ data: [[0, 1, 2], [1, 1, 1]], gaps: 0 });
    expect(breakGaps([[]], 2)).toEqual({ data: [[]], gaps: 0 });
  });

  test('points are counted in the fullest series, nulls not counted', () => {
    expect(countPoints([[0, 1, 2, 3], [1, null, 1, null], [1, 1, 1, null]])).toBe(3);
    expect(countPoints([[]])).toBe(0);
  });
});
