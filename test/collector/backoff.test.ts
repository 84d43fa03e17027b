import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF, nextAttempt } from '../../collector/backoff.ts';
import { nextTickMs } from '../../collector/tick-schedule.ts';

describe('backoffDelayMs (full jitter)', () => {
  const opts = { baseMs: 250, maxMs: 30_000 };
  it.each([
    [0, 0.5, 125],
    [1, 0.5, 250],
    [3, 0.999, 1998],
    [7, 0.5, 15_000],
    [8, 0.999, 29_970], // ceiling capped at 30 s
    [50, 0.5, 15_000], // huge attempts do not overflow
    [4, 0, 0],
    [-3, 0.5, 125],
  ])('attempt %i with random %f → %i ms', (attempt, r, expected) => {
    expect(backoffDelayMs(attempt, opts, () => r)).toBe(expected);
  });
  it('never exceeds the 30 s cap whatever the random source returns', () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      expect(backoffDelayMs(attempt, DEFAULT_BACKOFF, () => 1)).toBeLessThanOrEqual(30_000);
      expect(backoffDelayMs(attempt, DEFAULT_BACKOFF, () => 2)).toBeLessThanOrEqual(30_000);
    }
  });
  it.each([
    [3, 0, 4],
    [3, 9_999, 4],
    [3, 10_000, 0],
    [-1, 0, 0],
  ])('after attempt %i and a connection of %i ms the next attempt is %i', (prev, upMs, expected) => {
    expect(nextAttempt(prev, upMs, DEFAULT_BACKOFF)).toBe(expected);
  });
});

describe('nextTickMs (clock-anchored, no drift)', () => {
  it.each([
    [1000, 100, 1000, 1100],
    [1000, 100, 1050, 1100],
    [1000, 100, 1099, 1100],
    [1000, 100, 1100, 1200],
    [1000, 100, 1375, 1400], // a slow sample skips missed ticks instead of bursting
    [1000, 100, 900, 1000],
    [0, 200, 1_000_000_123, 1_000_000_200],
  ])('anchor %i, interval %i, now %i → %i', (anchor, interval, now, expected) => {
    expect(nextTickMs(anchor, interval, now)).toBe(expected);
  });
  it('refuses a non-positive interval', () => expect(() => nextTickMs(0, 0, 5)).toThrow(RangeError));
});
