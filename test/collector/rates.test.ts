import { describe, expect, it } from 'vitest';
import { cpuPercent, type CpuTicks } from '../../collector/cpu-percent.ts';
import { counterIncrease, counterRatePerSec } from '../../collector/rates.ts';

describe('counterRatePerSec', () => {
  it.each([
    ['first sample', undefined, 500, 1000, 0],
    ['steady growth', 1000, 3000, 1000, 2000],
    ['half a second', 1000, 2000, 500, 2000],
    ['no change', 7, 7, 1000, 0],
    ['zero elapsed', 1, 100, 0, 0],
    ['negative elapsed (clock step)', 1, 100, -5, 0],
    ['32-bit wrap', 2 ** 32 - 100, 400, 1000, 500],
    ['reset to zero (interface re-created)', 5_000_000, 1000, 1000, 1000],
    ['reset of a counter above 2^32', 2 ** 40, 10, 1000, 10],
    ['NaN current', 1, Number.NaN, 1000, 0],
  ])('%s', (_name, previous, current, elapsedMs, expected) => {
    expect(counterRatePerSec(previous, current, elapsedMs)).toBe(expected);
  });
  it('never returns a negative rate for a decreasing counter', () => {
    for (const [p, c] of [[10, 5], [2 ** 31, 1], [2 ** 33, 2 ** 32]]) expect(counterIncrease(p, c)).toBeGreaterThanOrEqual(0);
  });
});

describe('cpuPercent', () => {
  const t = (over: Partial<CpuTicks>): CpuTicks => ({ user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, ...over });
  it.each([
    ['no previous reading', undefined, t({ user: 10 }), { totalPercent: 0, userPercent: 0, systemPercent: 0, iowaitPercent: 0, stealPercent: 0 }],
    ['idle machine', t({ idle: 100 }), t({ idle: 200 }), { totalPercent: 0, userPercent: 0, systemPercent: 0, iowaitPercent: 0, stealPercent: 0 }],
    [
      'mixed load, iowait counts as not busy',
      t({}),
      t({ user: 20, nice: 5, system: 10, irq: 3, softirq: 2, idle: 40, iowait: 15, steal: 5 }),
      { totalPercent: 45, userPercent: 25, systemPercent: 15, iowaitPercent: 15, stealPercent: 5 },
    ],
    ['fully busy', t({ user: 10, idle: 10 }), t({ user: 110, idle: 10 }), { totalPercent: 100, userPercent: 100, systemPercent: 0, iowaitPercent: 0, stealPercent: 0 }],
    ['no ticks elapsed', t({ user: 5 }), t({ user: 5 }), { totalPercent: 0, userPercent: 0, systemPercent: 0, iowaitPercent: 0, stealPercent: 0 }],
    ['counter went backwards (hotplug)', t({ user: 500, idle: 500 }), t({ user: 10, idle: 600 }), { totalPercent: 0, userPercent: 0, systemPercent: 0, iowaitPercent: 0, stealPercent: 0 }],
  ])('%s', (_name, previous, current, expected) => {
    const got = cpuPercent(previous, current);
    for (const [key, value] of Object.entries(expected)) expect(got[key as keyof typeof got]).toBeCloseTo(value, 9);
  });
});
