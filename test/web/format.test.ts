import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatBytesPerSec, formatCelsius, formatCount, formatDuration, formatInterval, formatLoad, formatPercent, MISSING } from '../../web/src/format.ts';

describe('format', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.00 kB'],
    [1234, '1.23 kB'],
    [12_345, '12.3 kB'],
    [123_456, '123 kB'],
    [999_600, '1.00 MB'],
    [5.5e9, '5.50 GB'],
    [2e15, '2.00 PB'],
    [-2048, '-2.05 kB'],
    [Number.NaN, MISSING],
    [null, MISSING],
    [undefined, MISSING],
  ])('formatBytes(%s) = %s', (input, expected) => {
    expect(formatBytes(input)).toBe(expected);
  });

  it.each([
    [() => formatBytesPerSec(1500), '1.50 kB/s'],
    [() => formatBytesPerSec(null), MISSING],
    [() => formatPercent(42.345), '42.3%'],
    [() => formatPercent(100, 0), '100%'],
    [() => formatPercent(Number.POSITIVE_INFINITY), MISSING],
    [() => formatLoad(0.5), '0.50'],
    [() => formatCelsius(61.04), '61.0 °C'],
    [() => formatCount(12345.6), '12,346'],
    [() => formatInterval(500), '500 ms'],
    [() => formatInterval(1000), '1 s'],
    [() => formatInterval(2500), '2.5 s'],
    [() => formatInterval(90_000), '1m 30s'],
    [() => formatInterval(0), MISSING],
  ])('%#: unit formatting', (fn, expected) => {
    expect(fn()).toBe(expected);
  });

  it.each([
    [0, '0s'],
    [59.9, '59s'],
    [61, '1m 1s'],
    [3600, '1h 0m'],
    [93_784, '1d 2h 3m'],
    [-1, MISSING],
  ])('formatDuration(%s) = %s', (input, expected) => {
    expect(formatDuration(input)).toBe(expected);
  });

  it.each([
    [0, 'just now'],
    [-500, 'just now'],
    [3_400, '3 s ago'],
    [59_999, '59 s ago'],
    [60_000, '1 min ago'],
    [3 * 3600_000, '3 h ago'],
    [72 * 3600_000, '3 d ago'],
    [undefined, 'never'],
  ])('formatAgo(%s) = %s', (input, expected) => {
    expect(formatAgo(input)).toBe(expected);
  });
});
