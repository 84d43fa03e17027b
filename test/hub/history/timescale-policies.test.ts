// The TimescaleDB policies derived from the retention options (pure), and the options' validation.
import { describe, expect, test } from 'vitest';
import { resolveRetention } from '../../../hub/history/sql-history.ts';
import { timescalePolicies } from '../../../hub/history/timescale-policies.ts';

describe('TimescaleDB policies from retention options', () => {
  test('defaults: refresh windows end inside the source retention', () => {
    expect(timescalePolicies(resolveRetention(undefined))).toEqual([
      { kind: 'refresh', relation: 'metrics_1m', startOffsetSeconds: 7 * 86_400 - 3600, endOffsetSeconds: 60, scheduleSeconds: 60 },
      { kind: 'refresh', relation: 'metrics_1h', startOffsetSeconds: 90 * 86_400 - 3600, endOffsetSeconds: 3600, scheduleSeconds: 1800 },
      { kind: 'retention', relation: 'metrics', dropAfterSeconds: 7 * 86_400 },
      { kind: 'retention', relation: 'metrics_1m', dropAfterSeconds: 90 * 86_400 },
      { kind: 'retention', relation: 'metrics_1h', dropAfterSeconds: 730 * 86_400 },
    ]);
  });

  test('retention options are validated', () => {
    expect(() => resolveRetention({ rawDays: 0 })).toThrow(/rawDays must be a positive number/);
    expect(() => resolveRetention({ rawDays: 100 })).toThrow(/must not shrink/);
    expect(resolveRetention({ oneHourDays: 3650 })).toEqual({ rawDays: 7, oneMinuteDays: 90, oneHourDays: 3650 });
  });
});
