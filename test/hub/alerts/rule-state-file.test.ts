// The alert state file's codec: a snapshot round-trips; a damaged or foreign file is refused with a
// reason (the hub then starts without it) instead of being half loaded.
import { describe, expect, test } from 'vitest';
import { decodeAlertSnapshot, encodeAlertSnapshot, type AlertSnapshot } from '../../../hub/alerts/rule-state-file.ts';
import { OK_STATE } from '../../../hub/alerts/evaluate.ts';

const snapshot: AlertSnapshot = {
  machines: new Map([['m1', { version: 7, rules: { r1: { ...OK_STATE, phase: 'firing', sinceMs: 5, value: 91.5, lastSampleMs: 9, notifiedFiring: true, lastNotifiedMs: 9, acknowledged: true, silencedUntilMs: 99 } } }]]),
  active: [{ rule_id: 'r1', machine: 'm1', state: 'firing', severity: 'critical', since: 5, value: 91.5, acknowledged: true, silenced_until: 99 }],
  outbox: [{ id: 'x', at: 9, ruleId: 'r1', ruleName: 'R', metric: 'cpu_percent', condition: 'cpu_percent > 90', machine: 'm1', severity: 'critical', state: 'firing', notice: 'firing', value: 91.5, since: 5, detail: null }],
};

describe('alert state file', () => {
  test('round-trips', () => {
    expect(decodeAlertSnapshot(encodeAlertSnapshot(snapshot))).toEqual(snapshot);
  });

  test.each([
    ['not JSON', '{', /not valid JSON/],
    ['another format', JSON.stringify({ format: 2, machines: {}, active: [], outbox: [] }), /format 1/],
    ['a bad phase', encodeAlertSnapshot(snapshot).replace('"phase":"firing"', '"phase":"burning"'), /phase/],
    ['a missing number', encodeAlertSnapshot(snapshot).replace('"silencedUntilMs":99', '"silencedUntilMs":"soon"'), /silencedUntilMs/],
    ['a bad active alert', encodeAlertSnapshot(snapshot).replace('"severity":"critical","since"', '"severity":"loud","since"'), /severity/],
    ['a bad outbox entry', encodeAlertSnapshot(snapshot).replace('"notice":"firing"', '"notice":"shout"'), /notice/],
  ])('refuses %s', (_what, text, reason) => {
    expect(() => decodeAlertSnapshot(text)).toThrow(reason);
  });
});
