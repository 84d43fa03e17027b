import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from '../../web/src/reconnect-delay.ts';

describe('reconnectDelayMs', () => {
  const opts = { baseMs: 500, maxMs: 30_000 };
  it.each([
    [0, 0, 250],
    [0, 1, 500],
    [1, 0, 500],
    [1, 1, 1000],
    [3, 0.5, 3000],
    [6, 1, 30_000],
    [20, 0, 15_000],
    [1000, 1, 30_000],
    [-3, 1, 500],
  ])('attempt %s with random %s → %s ms', (attempt, r, expected) => {
    expect(reconnectDelayMs(attempt, () => r, opts)).toBe(expected);
  });

  it('stays within [ceiling/2, ceiling] and never exceeds the cap, whatever the random source says', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const r of [-1, 0, 0.3, 0.999, 2]) {
        const d = reconnectDelayMs(attempt, () => r, opts);
        const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});
