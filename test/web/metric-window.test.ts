import { describe, expect, it } from 'vitest';
import { createMetricWindow } from '../../web/src/metric-window.ts';

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
