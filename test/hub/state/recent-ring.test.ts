import { describe, expect, it } from 'vitest';
import type { Metrics } from '../../../proto/metrics.ts';
import { createRecentRing } from '../../../hub/state/recent-ring.ts';

const m = (values: Record<string, number | null>) => values as unknown as Metrics;

describe('createRecentRing', () => {
  it('keeps the newest points in order and returns them as they were pushed', () => {
    const ring = createRecentRing(3);
    for (let t = 1; t <= 5; t++) ring.push({ t, metrics: m({ cpu_percent: t * 1.5, memory_percent: null }) });
    expect(ring.size).toBe(3);
    expect(ring.last(10)).toEqual([3, 4, 5].map((t) => ({ t, metrics: { cpu_percent: t * 1.5, memory_percent: null } })));
    expect(ring.last(1)).toEqual([{ t: 5, metrics: { cpu_percent: 7.5, memory_percent: null } }]);
    expect(ring.last(0)).toEqual([]);
  });

  it('takes a metric first seen later; older points read it as null', () => {
    const ring = createRecentRing(4);
    ring.push({ t: 1, metrics: m({ cpu_percent: 1 }) });
    ring.push({ t: 2, metrics: m({ cpu_percent: 2, temperature_c: 40 }) });
    expect(ring.last(4)).toEqual([
      { t: 1, metrics: { cpu_percent: 1, temperature_c: null } },
      { t: 2, metrics: { cpu_percent: 2, temperature_c: 40 } },
    ]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => createRecentRing(0)).toThrow(/positive integer/);
  });
});
