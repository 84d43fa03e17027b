// The rule editor's form values (strings, as inputs hold them) and the rule JSON of the hub's REST API,
// both ways. Pure. The hub validates every rule again; this catches what can be caught before sending
// and names the field, the way the hub does.
import { ALERT_METRICS, type AlertMetric } from '../../proto/alert-metrics.ts';
import { CHANNEL_TYPES, type ChannelType, type InlineChannelJson, type RuleFields } from '../../proto/alert-json.ts';

export { ALERT_METRICS, type AlertMetric };

export const METRIC_LABELS: Record<AlertMetric, string> = {
  cpu_percent: 'CPU %',
  memory_percent: 'Memory %',
  disk_percent: 'Disk %',
  load_avg_1m: 'Load 1 min',
  load_avg_5m: 'Load 5 min',
  load_avg_15m: 'Load 15 min',
  network_recv_bytes_sec: 'Network in (B/s)',
  network_sent_bytes_sec: 'Network out (B/s)',
  temperature_c: 'Temperature °C',
  offline: 'Offline (s without a report)',
  containers_failing: 'Containers stopped or unhealthy',
  services_failed: 'Services failed',
  disks_failing: 'Disks failing (SMART)',
  gpu_temperature_c: 'GPU temperature °C',
};

export { CHANNEL_TYPES, type ChannelType, type InlineChannelJson };

/** A rule as the dashboard sends it (the hub's answer, StoredRuleJson, reads as one too). */
export interface RuleJson extends RuleFields<string | InlineChannelJson> {
  id?: string;
}

export interface ChannelRow {
  type: ChannelType;
  url: string;
  /** Empty: keep the stored secret when `hasSecret`, none otherwise. */
  secret: string;
  hasSecret: boolean;
}

export interface RuleForm {
  id: string;
  name: string;
  metric: AlertMetric;
  op: '>' | '<';
  threshold: string;
  forS: string;
  clearThreshold: string;
  severity: 'warning' | 'critical';
  repeatS: string;
  mount: string;
  /** Comma or space separated machine ids; empty = every machine. */
  machines: string;
  /** `key=value` pairs separated by commas; empty = no label condition. */
  labels: string;
  channels: ChannelRow[];
  /** Saved channels referenced by id (kept as they are). */
  savedChannels: string[];
}

export type FormResult = { ok: true; rule: Omit<RuleJson, 'id'> & { id?: string } } | { ok: false; field: keyof RuleForm; message: string };

export function emptyForm(): RuleForm {
  return {
    id: '',
    name: '',
    metric: 'cpu_percent',
    op: '>',
    threshold: '90',
    forS: '60',
    clearThreshold: '',
    severity: 'warning',
    repeatS: '',
    mount: '',
    machines: '',
    labels: '',
    channels: [],
    savedChannels: [],
  };
}

export function ruleToForm(rule: RuleJson): RuleForm {
  return {
    id: rule.id ?? '',
    name: rule.name,
    metric: rule.metric,
    op: rule.op,
    threshold: String(rule.threshold),
    forS: String(rule.for_s),
    clearThreshold: rule.clear_threshold === rule.threshold ? '' : String(rule.clear_threshold),
    severity: rule.severity,
    repeatS: rule.repeat_s ? String(rule.repeat_s) : '',
    mount: rule.mount ?? '',
    machines: (rule.scope.machines ?? []).join(', '),
    labels: Object.entries(rule.scope.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
    channels: rule.channels.filter((c): c is InlineChannelJson => typeof c !== 'string').map((c) => ({ type: c.type, url: c.url, secret: '', hasSecret: Boolean(c.has_secret) })),
    savedChannels: rule.channels.filter((c): c is string => typeof c === 'string'),
  };
}

function number(text: string, field: keyof RuleForm, label: string): number | { field: keyof RuleForm; message: string } {
  const t = text.trim();
  const n = t === '' ? Number.NaN : Number(t);
  return Number.isFinite(n) ? n : { field, message: `${label} must be a number` };
}

const isProblem = (v: unknown): v is { field: keyof RuleForm; message: string } => typeof v === 'object' && v !== null;

export function formToRule(form: RuleForm): FormResult {
  const name = form.name.trim();
  if (!name) return { ok: false, field: 'name', message: 'name must not be empty' };
  const threshold = number(form.threshold, 'threshold', 'threshold');
  if (isProblem(threshold)) return { ok: false, ...threshold };
  const forS = form.forS.trim() === '' ? 0 : number(form.forS, 'forS', 'for_s');
  if (isProblem(forS)) return { ok: false, ...forS };
  const clear = form.clearThreshold.trim() === '' ? threshold : number(form.clearThreshold, 'clearThreshold', 'clear_threshold');
  if (isProblem(clear)) return { ok: false, ...clear };
  const repeat = form.repeatS.trim() === '' ? 0 : number(form.repeatS, 'repeatS', 'repeat_s');
  if (isProblem(repeat)) return { ok: false, ...repeat };
  const machines = form.machines.split(/[\s,]+/).filter(Boolean);
  const labels: Record<string, string> = {};
  for (const part of form.labels.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, field: 'labels', message: `labels: "${part}" is not key=value` };
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const channels: RuleJson['channels'] = [...form.savedChannels];
  for (const [i, c] of form.channels.entries()) {
    if (!c.url.trim()) return { ok: false, field: 'channels', message: `channels[${i}].url must not be empty` };
    const ch: InlineChannelJson = { type: c.type, url: c.url.trim() };
    if (c.secret) ch.secret = c.secret;
    else if (!c.hasSecret) ch.has_secret = false;
    channels.push(ch);
  }
  const scope: RuleJson['scope'] = {};
  if (machines.length) scope.machines = machines;
  if (Object.keys(labels).length) scope.labels = labels;
  return {
    ok: true,
    rule: {
      ...(form.id ? { id: form.id } : {}),
      name,
      metric: form.metric,
      op: form.metric === 'offline' ? '>' : form.op,
      threshold,
      for_s: forS,
      clear_threshold: clear,
      severity: form.severity,
      scope,
      channels,
      repeat_s: repeat,
      mount: form.metric === 'disk_percent' && form.mount.trim() ? form.mount.trim() : null,
    },
  };
}

/** "cpu_percent > 90 for 300 s", for lists. */
export function describeRule(rule: Pick<RuleJson, 'metric' | 'op' | 'threshold' | 'for_s' | 'mount' | 'scope'>): string {
  const what = rule.metric === 'offline' ? `no report for ${rule.threshold} s` : `${rule.mount ? `disk ${rule.mount}` : METRIC_LABELS[rule.metric]} ${rule.op} ${rule.threshold}`;
  const scope = rule.scope.machines?.length ? ` · ${rule.scope.machines.length === 1 ? rule.scope.machines[0] : `${rule.scope.machines.length} machines`}` : '';
  const labels = rule.scope.labels ? ` · ${Object.entries(rule.scope.labels).map(([k, v]) => `${k}=${v}`).join(', ')}` : '';
  return `${what}${rule.for_s > 0 ? ` for ${rule.for_s} s` : ''}${scope}${labels}`;
}
