// Rule validation (every field, with the field named in the error), defaults, scope matching and the
// value a rule reads from a report. (The admin check: test/hub/gateway/admin-auth.test.ts.)
import { describe, expect, test } from 'vitest';
import { parseRuleInput, parseSavedChannelInput, ruleApplies, ruleValue, type AlertRule } from '../../../hub/alerts/alert-rule.ts';
import { HttpError } from '../../../hub/errors.ts';

const VALID = { name: 'CPU hot', metric: 'cpu_percent', op: '>', threshold: 90, for_s: 300, clear_threshold: 80, severity: 'critical' };

function problem(body: unknown): string {
  try {
    parseRuleInput(body);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('parseRuleInput', () => {
  test('a full valid rule comes back normalised, with defaults for what is left out', () => {
    expect(parseRuleInput(VALID)).toEqual({ ...VALID, scope: {}, channels: [], repeat_s: 0, mount: null });
    expect(parseRuleInput({ name: ' n ', metric: 'memory_percent', threshold: 90 })).toEqual({
      name: 'n',
      metric: 'memory_percent',
      op: '>',
      threshold: 90,
      for_s: 0,
      clear_threshold: 90,
      severity: 'warning',
      scope: {},
      channels: [],
      repeat_s: 0,
      mount: null,
    });
  });

  test('scope, channels, mount and repeat are kept', () => {
    const rule = parseRuleInput({
      ...VALID,
      metric: 'disk_percent',
      mount: '/var',
      repeat_s: 600,
      scope: { machines: ['web-01', 'web-01', 'db-1'], labels: { env: 'prod' } },
      channels: ['c-ops', { type: 'webhook', url: 'https://hooks.example/x', secret: 's' }, { type: 'ntfy', url: 'http://127.0.0.1:8080/topic' }],
    });
    expect(rule.scope).toEqual({ machines: ['web-01', 'db-1'], labels: { env: 'prod' } });
    expect(rule.channels).toEqual(['c-ops', { type: 'webhook', url: 'https://hooks.example/x', secret: 's' }, { type: 'ntfy', url: 'http://127.0.0.1:8080/topic' }]);
    expect(rule.mount).toBe('/var');
    expect(rule.repeat_s).toBe(600);
  });

  test.each([
    [null, /body must be a JSON object/],
    [[], /body must be a JSON object/],
    [{ ...VALID, for: 3 }, /^for: unknown field/],
    [{ ...VALID, name: undefined }, /^name must be a string/],
    [{ ...VALID, name: '   ' }, /^name must not be empty/],
    [{ ...VALID, name: 'x'.repeat(121) }, /^name must be at most 120 characters/],
    [{ ...VALID, name: 'a\nb' }, /^name must not contain control characters/],
    [{ ...VALID, id: 'has space' }, /^id must match/],
    [{ ...VALID, metric: 'cpu' }, /^metric must be one of cpu_percent, .*offline/],
    [{ ...VALID, op: '>=' }, /^op must be one of >, </],
    [{ ...VALID, threshold: '90' }, /^threshold must be a number/],
    [{ ...VALID, threshold: 101 }, /^threshold must be between 0 and 100/],
    [{ ...VALID, metric: 'load_avg_1m', threshold: -1 }, /^threshold must be between 0/],
    [{ ...VALID, threshold: Number.NaN }, /^threshold must be a number/],
    [{ ...VALID, for_s: -1 }, /^for_s must be between 0 and 604800/],
    [{ ...VALID, clear_threshold: 95 }, /^clear_threshold must not be above threshold when op is ">"/],
    [{ ...VALID, op: '<', threshold: 10, clear_threshold: 5 }, /^clear_threshold must not be below threshold when op is "<"/],
    [{ ...VALID, severity: 'info' }, /^severity must be one of warning, critical/],
    [{ ...VALID, repeat_s: 5 }, /^repeat_s must be between 10/],
    [{ ...VALID, mount: '/var' }, /^mount applies to the disk_percent metric only/],
    [{ ...VALID, metric: 'offline', op: '<', threshold: 60 }, /^op must be ">" for the offline metric/],
    [{ ...VALID, metric: 'offline', threshold: 0 }, /^threshold must be between 1/],
    [{ ...VALID, scope: [] }, /^scope must be an object/],
    [{ ...VALID, scope: { hosts: ['a'] } }, /^scope\.hosts: unknown field/],
    [{ ...VALID, scope: { machines: [] } }, /^scope\.machines must list at least one machine id/],
    [{ ...VALID, scope: { machines: ['ok', 'bad id'] } }, /^scope\.machines\[1\] must match/],
    [{ ...VALID, scope: { labels: { env: 3 } } }, /^scope\.labels\.env must be a string/],
    [{ ...VALID, channels: {} }, /^channels must be an array/],
    [{ ...VALID, channels: Array.from({ length: 11 }, () => 'c') }, /^channels may list at most 10 channels/],
    [{ ...VALID, channels: [{ type: 'email', url: 'https://x' }] }, /^channels\[0\]\.type must be one of webhook, slack, discord, ntfy/],
    [{ ...VALID, channels: [{ type: 'webhook', url: 'ftp://x' }] }, /^channels\[0\]\.url must be an http\(s\) URL/],
    [{ ...VALID, channels: [{ type: 'webhook', url: 'javascript:alert(1)' }] }, /^channels\[0\]\.url must be an http\(s\) URL/],
    [{ ...VALID, channels: [{ type: 'webhook', url: '/relative' }] }, /^channels\[0\]\.url must be an http\(s\) URL/],
    [{ ...VALID, channels: [{ type: 'webhook', url: `https://x/${'a'.repeat(2048)}` }] }, /^channels\[0\]\.url must be at most 2048 characters/],
    [{ ...VALID, channels: [{ type: 'webhook', url: 'https://user:pw@x/' }] }, /^channels\[0\]\.url must not carry credentials/],
    [{ ...VALID, channels: [{ type: 'webhook', url: 'https://x/', secret: 5 }] }, /^channels\[0\]\.secret must be a string/],
    [{ ...VALID, channels: [{ type: 'webhook', url: 'https://x/', token: 'x' }] }, /^channels\[0\]\.token: unknown field/],
    [{ ...VALID, channels: ['bad id!'] }, /^channels\[0\] must match/],
  ])('%j is refused: %s', (body, message) => {
    expect(problem(body)).toMatch(message);
  });

  test('what GET returns can be sent back (created_at, updated_at, has_secret are accepted and ignored)', () => {
    const rule = parseRuleInput({ ...VALID, id: 'r-1', created_at: 1, updated_at: 2, channels: [{ type: 'slack', url: 'https://hooks.slack.com/services/x', has_secret: false }] });
    expect(rule.channels).toEqual([{ type: 'slack', url: 'https://hooks.slack.com/services/x' }]);
  });

  test('saved channels are validated the same way', () => {
    expect(parseSavedChannelInput({ name: 'ops', type: 'discord', url: 'https://discord.com/api/webhooks/1/x' })).toEqual({ name: 'ops', type: 'discord', url: 'https://discord.com/api/webhooks/1/x' });
    expect(() => parseSavedChannelInput({ name: 'ops', type: 'webhook', url: 'gopher://x' })).toThrow(/channel\.url must be an http\(s\) URL/);
    // The documented body {type, url, secret?} is enough: the channel is named after its type and host.
    expect(parseSavedChannelInput({ type: 'webhook', url: 'https://hooks.example.com:8443/a' })).toEqual({ name: 'webhook hooks.example.com:8443', type: 'webhook', url: 'https://hooks.example.com:8443/a' });
    expect(() => parseSavedChannelInput({ name: 5, type: 'webhook', url: 'https://x' })).toThrow(/^name must be a string/);
  });
});

describe('rule scope and value', () => {
  const rule = (over: Partial<AlertRule>): AlertRule => ({ ...(parseRuleInput(VALID) as AlertRule), id: 'r', ...over });
  test.each([
    [{}, { id: 'a', labels: {} }, true],
    [{ machines: ['a', 'b'] }, { id: 'b', labels: {} }, true],
    [{ machines: ['a'] }, { id: 'b', labels: {} }, false],
    [{ labels: { env: 'prod' } }, { id: 'a', labels: { env: 'prod', role: 'db' } }, true],
    [{ labels: { env: 'prod' } }, { id: 'a', labels: { env: 'dev' } }, false],
    [{ labels: { env: 'prod' } }, { id: 'a', labels: {} }, false],
    [{ machines: ['a'], labels: { env: 'prod' } }, { id: 'a', labels: { env: 'dev' } }, false],
  ])('scope %j on %j → %s', (scope, machine, expected) => {
    expect(ruleApplies(rule({ scope }), machine)).toBe(expected);
  });

  test('the value: headline metric, one mount, or missing', () => {
    const metrics = { cpu_percent: 42, disk_percent: 70, temperature_c: null };
    const fs = [
      { mount: '/', usedPercent: 70 },
      { mount: '/var', usedPercent: 95.5 },
    ];
    expect(ruleValue(rule({ metric: 'cpu_percent' }), metrics)).toBe(42);
    expect(ruleValue(rule({ metric: 'disk_percent', mount: null }), metrics, fs)).toBe(70);
    expect(ruleValue(rule({ metric: 'disk_percent', mount: '/var' }), metrics, fs)).toBe(95.5);
    expect(ruleValue(rule({ metric: 'disk_percent', mount: '/srv' }), metrics, fs)).toBeNull();
    expect(ruleValue(rule({ metric: 'disk_percent', mount: '/var' }), metrics, undefined)).toBeNull();
    expect(ruleValue(rule({ metric: 'temperature_c' }), metrics)).toBeNull();
    expect(ruleValue(rule({ metric: 'load_avg_5m' }), metrics)).toBeNull();
  });

  test('the value of a source rule: from the machine record\'s problems, missing without them', () => {
    const problems = { containers_failing: 2, services_failed: 0, disks_failing: 1, gpu_temperature_c: null };
    expect(ruleValue(rule({ metric: 'containers_failing' }), {}, undefined, problems)).toBe(2);
    expect(ruleValue(rule({ metric: 'services_failed' }), {}, undefined, problems)).toBe(0);
    expect(ruleValue(rule({ metric: 'disks_failing' }), {}, undefined, problems)).toBe(1);
    expect(ruleValue(rule({ metric: 'gpu_temperature_c' }), {}, undefined, problems)).toBeNull();
    expect(ruleValue(rule({ metric: 'containers_failing' }), {}, undefined, undefined)).toBeNull();
    expect(parseRuleInput({ name: 'a container is down', metric: 'containers_failing', threshold: 0 }).metric).toBe('containers_failing');
  });
});
