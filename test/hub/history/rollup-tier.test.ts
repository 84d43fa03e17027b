// Table tests for the pure tier choice and the LTTB downsampler.
import { describe, expect, test } from 'vitest';
import type { HistoryPoint } from '../../../hub/history/history-store.ts';
import { chooseStep, downsample, MAX_EXPLICIT_POINTS, MAX_HISTORY_POINTS, pointsAt, type RequestedStep } from '../../../hub/history/rollup-tier.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 0, 10, 12);

describe('chooseStep', () => {
  const cases: Array<[string, number, RequestedStep, string, { nowMs?: number; retention?: { rawDays: number; oneMinuteDays: number; oneHourDays: number } }?]> = [
    ['5 min auto', 5 * MIN, 'auto', 'raw'],
    ['25 min auto (1500 s)', 25 * MIN, 'auto', 'raw'],
    ['26 min auto', 26 * MIN, 'auto', '1m'],
    ['1 h auto', HOUR, 'auto', '1m'],
    ['25 h auto (1500 min)', 25 * HOUR, 'auto', '1m'],
    ['26 h auto', 26 * HOUR, 'auto', '1h'],
    ['7 d auto', 7 * DAY, 'auto', '1h'],
    ['3 y auto', 3 * 365 * DAY, 'auto', '1h'],
    ['explicit raw over 1 h', HOUR, 'raw', 'raw'],
    ['explicit raw over 6 h (21600 s > cap)', 6 * HOUR, 'raw', '1m'],
    ['explicit raw over 30 d', 30 * DAY, 'raw', '1h'],
    ['explicit 1m over 10 d (14400)', 10 * DAY, '1m', '1m'],
    ['explicit 1m over 30 d', 30 * DAY, '1m', '1h'],
    ['explicit 1h over 3 y', 3 * 365 * DAY, '1h', '1h'],
    ['explicit 1h over 1 min', MIN, '1h', '1h'],
  ];
  test.each(cases)('%s', (_label, rangeMs, requested, expected, context) => {
    expect(chooseStep(NOW - rangeMs, NOW, requested, context)).toBe(expected);
  });

  const retentionCases: Array<[string, number, number, string]> = [
    ['10 min, 8 days ago: raw is gone', 8 * DAY, 10 * MIN, '1m'],
    ['10 min, 6 days ago: raw kept', 6 * DAY, 10 * MIN, 'raw'],
    ['1 h, 100 days ago: 1 min is gone', 100 * DAY, HOUR, '1h'],
    ['1 h, 80 days ago: 1 min kept', 80 * DAY, HOUR, '1m'],
  ];
  test.each(retentionCases)('with nowMs: %s', (_label, agoMs, rangeMs, expected) => {
    expect(chooseStep(NOW - agoMs, NOW - agoMs + rangeMs, 'auto', { nowMs: NOW })).toBe(expected);
  });

  test('custom retention is respected', () => {
    const retention = { rawDays: 1, oneMinuteDays: 2, oneHourDays: 3 };
    expect(chooseStep(NOW - 2.5 * DAY, NOW - 2.5 * DAY + MIN, 'auto', { nowMs: NOW, retention })).toBe('1h');
    expect(chooseStep(NOW - 1.5 * DAY, NOW - 1.5 * DAY + MIN, 'auto', { nowMs: NOW, retention })).toBe('1m');
    expect(chooseStep(NOW - 0.5 * DAY, NOW - 0.5 * DAY + MIN, 'auto', { nowMs: NOW, retention })).toBe('raw');
  });

  test('auto never expects more points than the cap below 62 days', () => {
    for (let range = MIN; range <= 62 * DAY; range = Math.ceil(range * 1.37)) {
      const step = chooseStep(NOW - range, NOW, 'auto');
      expect(pointsAt(step, NOW - range, NOW)).toBeLessThanOrEqual(MAX_HISTORY_POINTS);
    }
    expect(MAX_EXPLICIT_POINTS).toBeGreaterThan(MAX_HISTORY_POINTS);
  });
});

describe('downsample (largest triangle three buckets)', () => {
  const series = (n: number, f: (i: number) => number): HistoryPoint[] => Array.from({ length: n }, (_, i) => [i * 1000, f(i)]);

  test('a short series is returned unchanged', () => {
    const s = series(10, (i) => i);
    expect(downsample(s, 10)).toBe(s);
    expect(downsample([], 5)).toEqual([]);
  });

  test.each([
    [100, 10],
    [1001, 3],
    [5000, 1500],
    [1501, 1500],
  ])('%i points → at most %i, first and last kept, time order kept', (n, max) => {
    const s = series(n, (i) => Math.sin(i / 7) * 50 + 50);
    const out = downsample(s, max);
    expect(out).toHaveLength(max);
    expect(out[0]).toEqual(s[0]);
    expect(out.at(-1)).toEqual(s.at(-1));
    for (let i = 1; i < out.length; i++) expect(out[i][0]).toBeGreaterThan(out[i - 1][0]);
    const original = new Map(s.map(([t, v]) => [t, v]));
    for (const [t, v] of out) expect(original.get(t)).toBe(v);
  });

  test('a single spike survives', () => {
    const s = series(10_000, (i) => (i === 6543 ? 99 : 5));
    const out = downsample(s, 100);
    expect(out).toContainEqual([6543_000, 99]);
  });

  test('tiny caps and invalid caps', () => {
    const s = series(10, (i) => i);
    expect(downsample(s, 1)).toEqual([s[9]]);
    expect(downsample(s, 2)).toEqual([s[0], s[9]]);
    expect(() => downsample(s, 0)).toThrow(/positive integer/);
    expect(() => downsample(s, 2.5)).toThrow(/positive integer/);
  });
});
