// Alert rules: their shape, the validation of anything a client sends (REST body or gRPC message, both
// reduced to plain JSON first), the caps, and the pure questions asked of a rule during evaluation
// (does it apply to this machine, what value does it read from this report). A validation failure is an
// HttpError(400) whose message names the field.
import { ALERT_METRICS, type AlertMetric } from '../../proto/alert-metrics.ts';
import { CHANNEL_TYPES, SEVERITIES, type ChannelSpec, type ChannelType, type RuleFields, type RuleScope, type Severity } from '../../proto/alert-json.ts';
import type { Metrics } from '../../proto/metrics.ts';
import { isSourceAlertMetric, type SourceProblems } from '../../proto/source-health.ts';
import { badRequest } from '../errors.ts';
import { MACHINE_ID_PATTERN, MACHINE_ID_RULE } from '../../proto/machine-id.ts';

export { ALERT_METRICS, type AlertMetric };

const PERCENT_METRICS: ReadonlySet<string> = new Set(['cpu_percent', 'memory_percent', 'disk_percent']);

export { CHANNEL_TYPES, SEVERITIES, type ChannelSpec, type ChannelType, type RuleScope, type Severity };

export const RULE_LIMITS = Object.freeze({
  maxRules: 500,
  maxNameLength: 120,
  maxUrlLength: 2048,
  maxSecretLength: 256,
  maxChannelsPerRule: 10,
  maxSavedChannels: 100,
  maxScopeMachines: 1000,
  maxScopeLabels: 32,
  maxLabelLength: 256,
  maxMountLength: 256,
  maxForSeconds: 7 * 86_400,
  maxRepeatSeconds: 30 * 86_400,
  minRepeatSeconds: 10,
  maxThreshold: 1e15,
  maxOfflineSeconds: 30 * 86_400,
});

export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** A rule's channel: inline, or the id of a saved channel. */
export type ChannelRef = ChannelSpec | string;

/** What a client may set; `id` is chosen by the server when absent. */
export interface RuleInput extends RuleFields<ChannelRef> {
  id?: string;
}

export interface AlertRule extends RuleInput {
  id: string;
}

/** The fields the pure state machine reads. */
export type EvaluableRule = Pick<AlertRule, 'op' | 'threshold' | 'clear_threshold' | 'for_s' | 'repeat_s'>;

export interface SavedChannelInput {
  id?: string;
  name: string;
  type: ChannelType;
  url: string;
  secret?: string;
}

// ---- validation helpers ------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw badRequest(`${where}${key}: unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function num(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${field} must be a number`);
  if (v < min || v > max) throw badRequest(`${field} must be between ${min} and ${max}`);
  return v;
}

function str(v: unknown, field: string, maxLength: number): string {
  if (typeof v !== 'string') throw badRequest(`${field} must be a string`);
  const s = v.trim();
  if (s === '') throw badRequest(`${field} must not be empty`);
  if (s.length > maxLength) throw badRequest(`${field} must be at most ${maxLength} characters`);
  // Control characters have no place in names; they would only garble logs and notifications.
  if (/[\u0000-\u001f\u007f]/.test(s)) throw badRequest(`${field} must not contain control characters`);
  return s;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw badRequest(`${field} must be one of ${values.join(', ')}`);
  return v as T;
}

export function checkId(v: unknown, field = 'id'): string {
  if (typeof v !== 'string' || !ID_PATTERN.test(v)) throw badRequest(`${field} must match [A-Za-z0-9._-]{1,64}`);
  return v;
}

/** An http(s) URL of bounded length; anything else (file:, javascript:, relative) is refused. */
export function checkUrl(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw badRequest(`${field} must be an http(s) URL`);
  const s = v.trim();
  if (s.length > RULE_LIMITS.maxUrlLength) throw badRequest(`${field} must be at most ${RULE_LIMITS.maxUrlLength} characters`);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw badRequest(`${field} must be an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(`${field} must be an http(s) URL`);
  if (url.username || url.password) throw badRequest(`${field} must not carry credentials; use the channel secret`);
  return s;
}

function checkSecret(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw badRequest(`${field} must be a string`);
  if (v.length > RULE_LIMITS.maxSecretLength) throw badRequest(`${field} must be at most ${RULE_LIMITS.maxSecretLength} characters`);
  return v;
}

export function parseChannelSpec(v: unknown, field: string): ChannelSpec {
  if (!isRecord(v)) throw badRequest(`${field} must be an object {type, url, secret?} or a saved channel id`);
  // has_secret is what GET shows instead of a secret; accepting it lets a client send back what it read.
  checkKeys(v, ['type', 'url', 'secret', 'has_secret'], `${field}.`);
  const type = oneOf(v.type, `${field}.type`, CHANNEL_TYPES);
  const url = checkUrl(v.url, `${field}.url`);
  const secret = checkSecret(v.secret, `${field}.secret`);
  return secret === undefined ? { type, url } : { type, url, secret };
}

function parseScope(v: unknown): RuleScope {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw badRequest('scope must be an object {machines?, labels?}');
  checkKeys(v, ['machines', 'labels'], 'scope.');
  const scope: RuleScope = {};
  if (v.machines !== undefined && v.machines !== null) {
    if (!Array.isArray(v.machines)) throw badRequest('scope.machines must be an array of machine ids');
    if (v.machines.length === 0) throw badRequest('scope.machines must list at least one machine id (leave it out for every machine)');
    if (v.machines.length > RULE_LIMITS.maxScopeMachines) throw badRequest(`scope.machines may list at most ${RULE_LIMITS.maxScopeMachines} machines`);
    scope.machines = [
      ...new Set(
        v.machines.map((m, i) => {
          if (typeof m !== 'string' || !MACHINE_ID_PATTERN.test(m)) throw badRequest(`scope.machines[${i}] ${MACHINE_ID_RULE}`);
          return m;
        }),
      ),
    ];
  }
  if (v.labels !== undefined && v.labels !== null) {
    if (!isRecord(v.labels)) throw badRequest('scope.labels must be an object of label: value');
    const entries = Object.entries(v.labels);
    if (entries.length > RULE_LIMITS.maxScopeLabels) throw badRequest(`scope.labels may have at most ${RULE_LIMITS.maxScopeLabels} labels`);
    const labels: Record<string, string> = {};
    for (const [k, val] of entries) {
      if (k === '' || k.length > RULE_LIMITS.maxLabelLength) throw badRequest(`scope.labels: a label name must be 1..${RULE_LIMITS.maxLabelLength} characters`);
      if (typeof val !== 'string' || val.length > RULE_LIMITS.maxLabelLength) throw badRequest(`scope.labels.${k} must be a string of at most ${RULE_LIMITS.maxLabelLength} characters`);
      labels[k] = val;
    }
    if (entries.length > 0) scope.labels = labels;
  }
  return scope;
}

function parseChannels(v: unknown): ChannelRef[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badRequest('channels must be an array');
  if (v.length > RULE_LIMITS.maxChannelsPerRule) throw badRequest(`channels may list at most ${RULE_LIMITS.maxChannelsPerRule} channels`);
  return v.map((c, i) => (typeof c === 'string' ? checkId(c, `channels[${i}]`) : parseChannelSpec(c, `channels[${i}]`)));
}

const RULE_FIELDS = ['id', 'name', 'metric', 'op', 'threshold', 'for_s', 'clear_threshold', 'severity', 'scope', 'channels', 'repeat_s', 'mount', 'created_at', 'updated_at'];

/** Validates a rule sent by a client. Defaults: op ">", for_s 0, clear_threshold = threshold, severity warning, repeat_s 0. */
export function parseRuleInput(body: unknown): RuleInput {
  if (!isRecord(body)) throw badRequest('the body must be a JSON object (a rule)');
  checkKeys(body, RULE_FIELDS, '');
  const id = body.id === undefined || body.id === null ? undefined : checkId(body.id);
  const name = str(body.name, 'name', RULE_LIMITS.maxNameLength);
  const metric = oneOf(body.metric, 'metric', ALERT_METRICS);
  const op = body.op === undefined ? '>' : oneOf(body.op, 'op', ['>', '<'] as const);
  let threshold: number;
  if (metric === 'offline') {
    if (op !== '>') throw badRequest('op must be ">" for the offline metric (seconds since the last report)');
    threshold = num(body.threshold, 'threshold', 1, RULE_LIMITS.maxOfflineSeconds);
  } else if (PERCENT_METRICS.has(metric)) {
    threshold = num(body.threshold, 'threshold', 0, 100);
  } else {
    threshold = num(body.threshold, 'threshold', metric === 'temperature_c' ? -273 : 0, RULE_LIMITS.maxThreshold);
  }
  const for_s = body.for_s === undefined ? 0 : num(body.for_s, 'for_s', 0, RULE_LIMITS.maxForSeconds);
  let clear_threshold = threshold;
  if (body.clear_threshold !== undefined && body.clear_threshold !== null) {
    clear_threshold = num(body.clear_threshold, 'clear_threshold', -RULE_LIMITS.maxThreshold, RULE_LIMITS.maxThreshold);
    if (op === '>' && clear_threshold > threshold) throw badRequest('clear_threshold must not be above threshold when op is ">"');
    if (op === '<' && clear_threshold < threshold) throw badRequest('clear_threshold must not be below threshold when op is "<"');
  }
  const severity = body.severity === undefined ? 'warning' : oneOf(body.severity, 'severity', SEVERITIES);
  let repeat_s = 0;
  if (body.repeat_s !== undefined && body.repeat_s !== null && body.repeat_s !== 0) {
    repeat_s = num(body.repeat_s, 'repeat_s', RULE_LIMITS.minRepeatSeconds, RULE_LIMITS.maxRepeatSeconds);
  }
  let mount: string | null = null;
  if (body.mount !== undefined && body.mount !== null && body.mount !== '') {
    if (metric !== 'disk_percent') throw badRequest('mount applies to the disk_percent metric only');
    mount = str(body.mount, 'mount', RULE_LIMITS.maxMountLength);
  }
  return {
    ...(id === undefined ? {} : { id }),
    name,
    metric,
    op,
    threshold,
    for_s,
    clear_threshold,
    severity,
    scope: parseScope(body.scope),
    channels: parseChannels(body.channels),
    repeat_s,
    mount,
  };
}

export function parseSavedChannelInput(body: unknown): SavedChannelInput {
  if (!isRecord(body)) throw badRequest('the body must be a JSON object (a channel)');
  checkKeys(body, ['id', 'name', 'type', 'url', 'secret', 'has_secret', 'created_at'], '');
  const id = body.id === undefined || body.id === null ? undefined : checkId(body.id);
  const spec = parseChannelSpec({ type: body.type, url: body.url, secret: body.secret }, 'channel');
  // The name is optional: without one the channel is called after its type and host ("slack hooks.slack.com").
  const name = body.name === undefined || body.name === null ? `${spec.type} ${new URL(spec.url).host}` : str(body.name, 'name', RULE_LIMITS.maxNameLength);
  return { ...(id === undefined ? {} : { id }), name, ...spec };
}

// ---- evaluation helpers (pure) -----------------------------------------------------------------

export function ruleApplies(rule: Pick<AlertRule, 'scope'>, machine: { id: string; labels: Record<string, string> }): boolean {
  const { machines, labels } = rule.scope;
  if (machines && !machines.includes(machine.id)) return false;
  if (labels) for (const [k, v] of Object.entries(labels)) if (machine.labels[k] !== v) return false;
  return true;
}

export interface FilesystemUse {
  mount: string;
  usedPercent: number;
}

/**
 * The value a (non-offline) rule reads from a report: the headline metric, or for a disk rule with a
 * mount that filesystem's use. `null` when the machine has no such value (no sensor, no such mount).
 */
export function ruleValue(rule: Pick<AlertRule, 'metric' | 'mount'>, metrics: Partial<Metrics>, filesystems?: readonly FilesystemUse[], problems?: SourceProblems): number | null {
  if (rule.metric === 'offline') return null;
  if (isSourceAlertMetric(rule.metric)) {
    // A machine without the source (no record of it) has no value: the rule stays quiet there.
    const v = problems?.[rule.metric];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  if (rule.metric === 'disk_percent' && rule.mount !== null) {
    const fs = filesystems?.find((f) => f.mount === rule.mount);
    return fs && Number.isFinite(fs.usedPercent) ? fs.usedPercent : null;
  }
  const v = metrics[rule.metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A short human sentence for the rule's condition, used in notifications and the dashboard. */
export function describeCondition(rule: Pick<AlertRule, 'metric' | 'op' | 'threshold' | 'for_s' | 'mount'>): string {
  const what = rule.metric === 'offline' ? 'no report for' : rule.mount ? `disk_percent(${rule.mount}) ${rule.op}` : `${rule.metric} ${rule.op}`;
  const unit = rule.metric === 'offline' ? ' s' : '';
  return `${what} ${rule.threshold}${unit}${rule.for_s > 0 ? ` for ${rule.for_s} s` : ''}`;
}
