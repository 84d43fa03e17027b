// The rule editor's form ↔ rule JSON conversion (pure): defaults, scope parsing, channels and kept
// secrets, per-field errors, and the one-line description.
import { describe, expect, test } from 'vitest';
import { describeRule, emptyForm, formToRule, ruleToForm, type RuleJson } from '../../web/src/rule-form.ts';

const RULE: RuleJson = {
  id: 'r-1',
  name: 'Disk /var',
  metric: 'disk_percent',
  op: '>',
  threshold: 90,
  for_s: 60,
  clear_threshold: 85,
  severity: 'critical',
  scope: { machines: ['web-01', 'web-02'], labels: { env: 'prod' } },
  channels: ['c-ops', { type: 'webhook', url: 'https://h.example/x', has_secret: true }],
  repeat_s: 3600,
  mount: '/var',
};

describe('rule form', () => {
  test('a rule survives form and back (secrets stay where they were)', () => {
    const form = ruleToForm(RULE);
    expect(form).toMatchObject({ threshold: '90', forS: '60', clearThreshold: '85', machines: 'web-01, web-02', labels: 'env=prod', mount: '/var', savedChannels: ['c-ops'] });
    expect(form.channels).toEqual([{ type: 'webhook', url: 'https://h.example/x', secret: '', hasSecret: true }]);
    const back = formToRule(form);
    expect(back).toEqual({ ok: true, rule: { ...RULE, channels: ['c-ops', { type: 'webhook', url: 'https://h.example/x' }] } });
  });

  test('defaults: empty clear threshold is the threshold, empty repeat is none, every machine', () => {
    const result = formToRule({ ...emptyForm(), name: 'CPU', threshold: '80', forS: '' });
    expect(result).toEqual({
      ok: true,
      rule: { name: 'CPU', metric: 'cpu_percent', op: '>', threshold: 80, for_s: 0, clear_threshold: 80, severity: 'warning', scope: {}, channels: [], repeat_s: 0, mount: null },
    });
  });

  test('a new secret is sent; an explicit removal says has_secret: false; mount only for disk; offline is always ">"', () => {
    const result = formToRule({
      ...emptyForm(),
      name: 'x',
      metric: 'offline',
      op: '<',
      threshold: '60',
      mount: '/ignored',
      channels: [
        { type: 'slack', url: ' https://hooks.slack.com/services/a ', secret: 'new', hasSecret: true },
        { type: 'ntfy', url: 'https://ntfy.sh/t', secret: '', hasSecret: false },
      ],
    });
    expect(result.ok && result.rule).toMatchObject({
      op: '>',
      mount: null,
      channels: [
        { type: 'slack', url: 'https://hooks.slack.com/services/a', secret: 'new' },
        { type: 'ntfy', url: 'https://ntfy.sh/t', has_secret: false },
      ],
    });
  });

  test.each([
    [{ name: '  ' }, 'name', /name must not be empty/],
    [{ name: 'n', threshold: 'abc' }, 'threshold', /threshold must be a number/],
    [{ name: 'n', threshold: '' }, 'threshold', /threshold must be a number/],
    [{ name: 'n', forS: '1e' }, 'forS', /for_s must be a number/],
    [{ name: 'n', clearThreshold: 'x' }, 'clearThreshold', /clear_threshold must be a number/],
    [{ name: 'n', labels: 'env' }, 'labels', /"env" is not key=value/],
    [{ name: 'n', channels: [{ type: 'webhook', url: ' ', secret: '', hasSecret: false }] }, 'channels', /channels\[0\]\.url must not be empty/],
  ] as const)('%j → error on %s', (patch, field, message) => {
    const result = formToRule({ ...emptyForm(), ...patch } as never);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.field).toBe(field);
      expect(result.message).toMatch(message);
    }
  });

  test('descriptions', () => {
    expect(describeRule(RULE)).toBe('disk /var > 90 for 60 s · 2 machines · env=prod');
    expect(describeRule({ metric: 'offline', op: '>', threshold: 60, for_s: 0, mount: null, scope: {} })).toBe('no report for 60 s');
    expect(describeRule({ metric: 'cpu_percent', op: '<', threshold: 5, for_s: 0, mount: null, scope: { machines: ['a'] } })).toBe('CPU % < 5 · a');
  });
});
