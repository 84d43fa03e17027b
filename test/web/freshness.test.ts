import { describe, expect, it } from 'vitest';
import { freshness, staleAfterMs } from '../../web/src/freshness.ts';

describe('freshness', () => {
  it.each([
    ['healthy', 10_000, 1000, 12_000, 'live'],
    ['healthy', 10_000, 1000, 13_000, 'live'],
    ['healthy', 10_000, 1000, 13_001, 'stale'],
    ['warning', 10_000, 5000, 24_000, 'live'],
    ['warning', 10_000, 5000, 25_001, 'stale'],
    ['healthy', 10_000, 500, 13_001, 'stale'],
    ['offline', 10_000, 1000, 10_000, 'offline'],
    ['healthy', 10_000, 0, 13_001, 'stale'],
  ] as const)('%s, seen %s, every %s ms, now %s → %s', (status, lastSeen, intervalMs, now, expected) => {
    expect(freshness({ status, lastSeen, intervalMs }, now)).toBe(expected);
  });

  it('waits at least 3 s and at least 3 intervals', () => {
    expect(staleAfterMs(250)).toBe(3000);
    expect(staleAfterMs(10_000)).toBe(30_000);
    expect(staleAfterMs(Number.NaN)).toBe(3000);
  });
});
