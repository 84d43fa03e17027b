// proto/machine-settings.ts: the one rule for a machine's report interval (0 = the collector's own,
// else the collector's COLLECTION_INTERVAL bounds), as the hub's PUT and the dashboard read it.
import { describe, expect, test } from 'vitest';
import { parseCollectorConfig } from '../../collector/config.ts';
import { intervalProblem, parseMachineSettings, REPORT_INTERVAL_MAX_MS, REPORT_INTERVAL_MIN_MS } from '../../proto/machine-settings.ts';
import { LIMITS } from '../../hub/validate-report.ts';

describe('machine settings', () => {
  test.each([
    [0, undefined],
    [100, undefined],
    [1000, undefined],
    [3_600_000, undefined],
    [99, /between 100 and 3600000/],
    [3_600_001, /between 100 and 3600000/],
    [-1, /between/],
    [1.5, /integer/],
    [Number.NaN, /integer/],
    ['1000', /integer/],
    [null, /integer/],
  ])('intervalProblem(%s)', (value, expected) => {
    const problem = intervalProblem(value);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });

  test('bodies', () => {
    expect(parseMachineSettings({ intervalMs: 250 })).toEqual({ ok: true, settings: { intervalMs: 250 } });
    expect(parseMachineSettings({})).toEqual({ ok: false, error: 'intervalMs is required' });
    expect(parseMachineSettings({ intervalMs: 250, x: 1 })).toMatchObject({ ok: false, error: expect.stringMatching(/unknown field "x"/) });
    for (const body of [null, [], 'x', 5]) expect(parseMachineSettings(body).ok).toBe(false);
  });

  test('the bounds are the collector’s and within what the hub accepts in a report', () => {
    expect(REPORT_INTERVAL_MAX_MS).toBeLessThanOrEqual(LIMITS.maxIntervalMs);
    const at = (s: string) => parseCollectorConfig([], { COLLECTION_INTERVAL: s }, { hostname: 'h', stdoutIsTty: false });
    expect(at(String(REPORT_INTERVAL_MIN_MS / 1000)).intervalMs).toBe(REPORT_INTERVAL_MIN_MS);
    expect(at(String(REPORT_INTERVAL_MAX_MS / 1000)).intervalMs).toBe(REPORT_INTERVAL_MAX_MS);
    expect(() => at(String(REPORT_INTERVAL_MIN_MS / 1000 / 2))).toThrow();
    expect(() => at(String((REPORT_INTERVAL_MAX_MS / 1000) * 2))).toThrow();
  });
});
