// The hub's alerting API as the dashboard uses it (hub mode only: the public edge has no alerts):
// active alerts, history, rules, acknowledge and silence. Writes carry the admin token the user pasted
// (kept in sessionStorage for this tab only) as `Authorization: Bearer`. Answers are checked for the
// shape the views rely on; a failure throws an Error with the hub's own message.
import type { ActiveAlertJson, AlertEventJson, ChannelJson, ChannelTestJson, StoredRuleJson } from '../../proto/alert-json.ts';
import { intervalProblem, type MachineSettingsJson } from '../../proto/machine-settings.ts';
import type { RuleJson } from './rule-form.ts';

const TIMEOUT_MS = 15_000;
const TOKEN_KEY = 'sysmonstm.adminToken';

/** GET /api/alerts as read here: `metric` is '' when the hub did not name it. */
export interface ActiveAlert extends Omit<ActiveAlertJson, 'metric'> {
  metric: string;
}
/** GET /api/alerts/history as read here: `metric` is any string the hub sent, null when the rule is gone. */
export interface AlertEvent extends Omit<AlertEventJson, 'metric'> {
  metric: string | null;
}
export type { StoredRuleJson };

export function adminToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setAdminToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives as long as the input */
  }
}

/** Whether the hub sets ADMIN_TOKEN (from /api/info); undefined when it does not say. */
export async function fetchAdminTokenRequired(signal?: AbortSignal): Promise<boolean | undefined> {
  const body = await request('GET', '/api/info', undefined, signal);
  return isRecord(body) && typeof body.adminTokenRequired === 'boolean' ? body.adminTokenRequired : undefined;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = adminToken();
  if (method !== 'GET' && token) headers.authorization = `Bearer ${token}`;
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  if (res.status === 204) return undefined;
  let parsed: unknown;
  try {
    parsed = await res.json();
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const message = isRecord(parsed) && typeof parsed.error === 'string' ? parsed.error : `${method} ${path} answered ${res.status}`;
    throw new ApiError(message, res.status);
  }
  return parsed;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isAlert(v: unknown): v is ActiveAlert {
  return isRecord(v) && typeof v.rule_id === 'string' && typeof v.machine === 'string' && (v.state === 'pending' || v.state === 'firing') && typeof v.since === 'number';
}

export async function fetchActiveAlerts(signal?: AbortSignal): Promise<ActiveAlert[]> {
  const body = await request('GET', '/api/alerts', undefined, signal);
  if (!Array.isArray(body)) throw new Error('alerts: expected an array');
  return body.filter(isAlert).map((a) => ({ ...a, rule_name: typeof a.rule_name === 'string' ? a.rule_name : a.rule_id, metric: typeof a.metric === 'string' ? a.metric : '' }));
}

/** One page of the history, newest first; `beforeId` asks for the entries older than that one. */
export async function fetchAlertHistory(limit: number, beforeId?: number, signal?: AbortSignal): Promise<AlertEvent[]> {
  const body = await request('GET', `/api/alerts/history?limit=${limit}${beforeId === undefined ? '' : `&before=${beforeId}`}`, undefined, signal);
  if (!Array.isArray(body)) throw new Error('alert history: expected an array');
  return body
    .filter((e): e is AlertEvent => isRecord(e) && typeof e.id === 'number' && typeof e.time === 'number' && typeof e.machine === 'string' && typeof e.state === 'string')
    .map((e) => ({ ...e, metric: typeof e.metric === 'string' ? e.metric : null }));
}

export async function fetchRules(signal?: AbortSignal): Promise<StoredRuleJson[]> {
  const body = await request('GET', '/api/rules', undefined, signal);
  if (!Array.isArray(body)) throw new Error('rules: expected an array');
  return body.filter((r): r is StoredRuleJson => isRecord(r) && typeof r.id === 'string' && typeof r.name === 'string' && typeof r.metric === 'string' && isRecord(r.scope) && Array.isArray(r.channels));
}

export async function saveRule(rule: Omit<RuleJson, 'id'> & { id?: string }, existingId: string | undefined): Promise<StoredRuleJson> {
  const body = existingId ? await request('PUT', `/api/rules/${encodeURIComponent(existingId)}`, rule) : await request('POST', '/api/rules', rule);
  if (!isRecord(body) || typeof body.id !== 'string') throw new Error('rule: unexpected answer');
  return body as unknown as StoredRuleJson;
}

export async function deleteRule(id: string): Promise<void> {
  await request('DELETE', `/api/rules/${encodeURIComponent(id)}`);
}

/** DELETE /api/machines/{id}: forgets the machine (admin, like the alerting writes). */
export async function forgetMachine(id: string): Promise<void> {
  await request('DELETE', `/api/machines/${encodeURIComponent(id)}`);
}

/** GET /api/machines/{id}/settings: what the owner set (intervalMs 0: the collector's own). */
export async function fetchMachineSettings(id: string, signal?: AbortSignal): Promise<MachineSettingsJson> {
  const body = await request('GET', `/api/machines/${encodeURIComponent(id)}/settings`, undefined, signal);
  if (!isRecord(body) || intervalProblem(body.intervalMs) !== undefined) throw new Error('the hub sent settings the dashboard cannot read');
  return { intervalMs: body.intervalMs as number };
}

/** PUT /api/machines/{id}/settings (admin, like the alerting writes): the hub pushes it to the collector. */
export async function saveMachineSettings(id: string, settings: MachineSettingsJson): Promise<void> {
  await request('PUT', `/api/machines/${encodeURIComponent(id)}/settings`, settings);
}

export async function acknowledgeAlert(ruleId: string, machine: string): Promise<void> {
  await request('POST', '/api/alerts/acknowledge', { rule_id: ruleId, machine });
}

export async function silenceAlert(ruleId: string, machine: string, durationS: number): Promise<void> {
  await request('POST', '/api/alerts/silence', { rule_id: ruleId, machine, duration_s: durationS });
}

export type SavedChannelJson = ChannelJson;
export type { ChannelTestJson };

function isChannel(v: unknown): v is SavedChannelJson {
  return isRecord(v) && typeof v.id === 'string' && typeof v.name === 'string' && typeof v.type === 'string' && typeof v.url === 'string';
}

export async function fetchChannels(signal?: AbortSignal): Promise<SavedChannelJson[]> {
  const body = await request('GET', '/api/channels', undefined, signal);
  if (!Array.isArray(body)) throw new Error('channels: expected an array');
  return body.filter(isChannel);
}

export async function createChannel(channel: { name?: string; type: string; url: string; secret?: string }): Promise<SavedChannelJson> {
  const body = await request('POST', '/api/channels', channel);
  if (!isChannel(body)) throw new Error('channel: unexpected answer');
  return body;
}

export async function deleteChannel(id: string): Promise<void> {
  await request('DELETE', `/api/channels/${encodeURIComponent(id)}`);
}

export async function testChannel(id: string): Promise<ChannelTestJson> {
  const body = await request('POST', `/api/channels/${encodeURIComponent(id)}/test`);
  if (!isRecord(body) || typeof body.ok !== 'boolean') throw new Error('channel test: unexpected answer');
  return { ok: body.ok, http_status: typeof body.http_status === 'number' ? body.http_status : null, ...(typeof body.error === 'string' ? { error: body.error } : {}) };
}
