import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, equalJitterMs, fullJitterMs, MAX_BACKOFF_EXPONENT } from '../../proto/backoff.ts';

describe('proto/backoff', () => {
  it('doubles from base up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffCeilingMs(a, 250, 5_000))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  it('clamps the attempt: negative is the first retry, fractions round down, huge stays finite', () => {
    expect(backoffCeilingMs(-3, 100, 1e12)).toBe(100);
    expect(backoffCeilingMs(2.9, 100, 1e12)).toBe(400);
    expect(backoffCeilingMs(1e9, 1, Number.POSITIVE_INFINITY)).toBe(2 ** MAX_BACKOFF_EXPONENT);
  });

  it('full jitter is uniform under the ceiling, equal jitter in its upper half', () => {
    expect(fullJitterMs(1000, () => 0)).toBe(0);
    expect(fullJitterMs(1000, () => 0.9999)).toBe(999);
    expect(fullJitterMs(1000, () => 7)).toBe(1000); // a broken random source is clamped
    expect(equalJitterMs(1000, () => 0)).toBe(500);
    expect(equalJitterMs(1000, () => 1)).toBe(1000);
    expect(equalJitterMs(1000, () => 0.5)).toBe(750);
  });

  it('the copies that used to carry their own formula now agree with it', async () => {
    const { backoffDelayMs } = await import('../../collector/backoff.ts');
    const { fullJitterDelayMs } = await import('../../hub/edge/backoff.ts');
    const { reconnectDelayMs } = await import('../../web/src/reconnect-delay.ts');
    const { retryDelayMs: historyRetry } = await import('../../hub/history/history-writer.ts');
    const { retryDelayMs: notifyRetry } = await import('../../hub/alerts/notification.ts');
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = backoffCeilingMs(attempt, 250, 30_000);
      expect(backoffDelayMs(attempt, { baseMs: 250, maxMs: 30_000 }, () => 0.5)).toBe(Math.floor(ceiling / 2));
      expect(fullJitterDelayMs(attempt, { baseMs: 250, maxMs: 30_000 }, () => 0.5)).toBe(Math.floor(ceiling / 2));
      expect(reconnectDelayMs(attempt, () => 0, { baseMs: 250, maxMs: 30_000 })).toBe(Math.round(ceiling / 2));
      expect(historyRetry(attempt + 1, 250, 30_000)).toBe(ceiling);
      expect(notifyRetry(attempt + 1, 250)).toBe(backoffCeilingMs(attempt, 250, 15 * 60_000));
    }
  });
});
