// The alerting API shared by the REST gateway and the gRPC ConfigService, so both answer the same:
// rules and saved channels (validated, capped, stored in SQL; changes take effect at once on every
// hub), active alerts and their history, acknowledge and silence, and the notification dead letters.
// Secrets are write-only: reads say `has_secret` instead. Failures are HttpErrors (400 names the field).
import { randomBytes } from 'node:crypto';
import { badRequest, conflict, notFound } from '../errors.ts';
import { MACHINE_ID_PATTERN, MACHINE_ID_RULE } from '../../proto/machine-id.ts';
import { checkId, parseRuleInput, parseSavedChannelInput, RULE_LIMITS, type AlertRule, type ChannelRef, type ChannelSpec } from './alert-rule.ts';
import type { ActiveAlertJson, AlertEventJson, ChannelJson, ChannelRefJson, ChannelTestJson, StoredRuleJson as RuleJson } from '../../proto/alert-json.ts';
import type { ActiveAlert } from './rule-state-store.ts';
import { sendTestNotification } from './channel-test.ts';
import type { AlertStore, DeadLetter, StoredRule } from './alert-store.ts';
import type { AlertEngine } from './alert-engine.ts';

export type { ActiveAlertJson, AlertEventJson, ChannelJson, ChannelRefJson, ChannelTestJson, RuleJson };

export const MAX_SILENCE_SECONDS = 30 * 86_400;
export const MAX_HISTORY_LIMIT = 1000;

export function toRuleJson(rule: StoredRule): RuleJson {
  return {
    id: rule.id,
    name: rule.name,
    metric: rule.metric,
    op: rule.op,
    threshold: rule.threshold,
    for_s: rule.for_s,
    clear_threshold: rule.clear_threshold,
    severity: rule.severity,
    scope: rule.scope,
    channels: rule.channels.map((c) => (typeof c === 'string' ? c : { type: c.type, url: c.url, has_secret: Boolean(c.secret) })),
    repeat_s: rule.repeat_s,
    mount: rule.mount,
    created_at: rule.created_at,
    updated_at: rule.updated_at,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intParam(value: string | undefined, name: string, min: number, max: number, fallback: number | undefined): number | undefined {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,15}$/.test(value)) throw badRequest(`${name} must be an integer`);
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`${name} must be between ${min} and ${max}`);
  return n;
}

function machineParam(v: unknown, field: string): string {
  if (typeof v !== 'string' || !MACHINE_ID_PATTERN.test(v)) throw badRequest(`${field} ${MACHINE_ID_RULE}`);
  return v;
}

export function createAlertApi(deps: {
  store: AlertStore;
  engine: AlertEngine;
  /** A dead letter was queued again. */
  onQueued?: () => void;
  /** Why a notification URL may not be saved (a private destination), or undefined (notify-destination.ts). */
  checkDestination?: (url: string) => Promise<string | undefined>;
  /** How long "send a test" waits for the channel (default 10 s). */
  testTimeoutMs?: number;
}) {
  const { store, engine } = deps;
  async function checkUrls(urls: Array<[string, string]>): Promise<void> {
    if (!deps.checkDestination) return;
    for (const [field, url] of urls) {
      const problem = await deps.checkDestination(url);
      if (problem) throw badRequest(`${field}: ${problem}`);
    }
  }
  const inlineUrls = (channels: readonly ChannelRef[]): Array<[string, string]> =>
    channels.flatMap((c, i): Array<[string, string]> => (typeof c === 'string' ? [] : [[`channels[${i}].url`, c.url]]));

  async function checkChannelRefs(channels: readonly ChannelRef[]): Promise<void> {
    const ids = channels.filter((c): c is string => typeof c === 'string');
    if (ids.length === 0) return;
    const saved = new Set((await store.listChannels()).map((c) => c.id));
    channels.forEach((c, i) => {
      if (typeof c === 'string' && !saved.has(c)) throw badRequest(`channels[${i}]: no saved channel with id "${c}"`);
    });
  }

  /** An inline channel sent back without its secret (as GET shows it) keeps the secret it had. */
  function keepSecrets(body: unknown, next: ChannelRef[], previous: readonly ChannelRef[]): ChannelRef[] {
    const raw = isRecord(body) && Array.isArray(body.channels) ? body.channels : [];
    return next.map((c, i) => {
      if (typeof c === 'string' || c.secret !== undefined) return c;
      const sent = raw[i];
      if (isRecord(sent) && sent.has_secret === false) return c;
      const old = previous.find((p): p is ChannelSpec => typeof p !== 'string' && p.type === c.type && p.url === c.url && p.secret !== undefined);
      return old ? { ...c, secret: old.secret } : c;
    });
  }

  return {
    // ---- rules -------------------------------------------------------------------------------
    async listRules(): Promise<RuleJson[]> {
      return (await store.listRules()).map(toRuleJson);
    },

    async getRule(id: string): Promise<RuleJson> {
      const rule = await store.getRule(checkId(id));
      if (!rule) throw notFound(`unknown rule "${id}"`);
      return toRuleJson(rule);
    },

    async createRule(body: unknown): Promise<RuleJson> {
      const input = parseRuleInput(body);
      await checkChannelRefs(input.channels);
      await checkUrls(inlineUrls(input.channels));
      if ((await store.countRules()) >= RULE_LIMITS.maxRules) throw conflict(`the hub holds its limit of ${RULE_LIMITS.maxRules} rules; delete one first`);
      const rule: AlertRule = { ...input, id: input.id ?? `r-${randomBytes(6).toString('hex')}` };
      const stored = await store.insertRule(rule);
      await engine.rulesChanged();
      return toRuleJson(stored);
    },

    async updateRule(id: string, body: unknown): Promise<RuleJson> {
      checkId(id);
      const input = parseRuleInput(body);
      if (input.id !== undefined && input.id !== id) throw badRequest(`id in the body ("${input.id}") differs from the id in the path ("${id}")`);
      const previous = await store.getRule(id);
      if (!previous) throw notFound(`unknown rule "${id}"`);
      await checkChannelRefs(input.channels);
      await checkUrls(inlineUrls(input.channels));
      const rule: AlertRule = { ...input, id, channels: keepSecrets(body, input.channels, previous.channels) };
      const stored = await store.updateRule(rule);
      if (!stored) throw notFound(`unknown rule "${id}"`);
      await engine.rulesChanged();
      return toRuleJson(stored);
    },

    async deleteRule(id: string): Promise<void> {
      const rule = await store.getRule(checkId(id));
      if (!rule || !(await store.deleteRule(id))) throw notFound(`unknown rule "${id}"`);
      await engine.rulesChanged();
      await engine.ruleDeleted(rule);
    },

    // ---- saved channels ------------------------------------------------------------------------
    async listChannels(): Promise<ChannelJson[]> {
      return (await store.listChannels()).map((c) => ({ id: c.id, name: c.name, type: c.type, url: c.url, has_secret: Boolean(c.secret), created_at: c.created_at }));
    },

    async createChannel(body: unknown): Promise<ChannelJson> {
      const input = parseSavedChannelInput(body);
      await checkUrls([['url', input.url]]);
      if ((await store.countChannels()) >= RULE_LIMITS.maxSavedChannels) throw conflict(`the hub holds its limit of ${RULE_LIMITS.maxSavedChannels} channels; delete one first`);
      const id = input.id ?? `c-${randomBytes(6).toString('hex')}`;
      await store.insertChannel({ ...input, id, created_at: 0 });
      const created = (await store.listChannels()).find((c) => c.id === id)!;
      return { id, name: created.name, type: created.type, url: created.url, has_secret: Boolean(created.secret), created_at: created.created_at };
    },

    /** Sends one test notification to a saved channel now and says how the channel answered. */
    async testChannel(id: string): Promise<ChannelTestJson> {
      checkId(id);
      const channel = (await store.listChannels()).find((c) => c.id === id);
      if (!channel) throw notFound(`unknown channel "${id}"`);
      const spec: ChannelSpec = { type: channel.type, url: channel.url, ...(channel.secret ? { secret: channel.secret } : {}) };
      const result = await sendTestNotification(spec, channel.name, { timeoutMs: deps.testTimeoutMs ?? 10_000, nowMs: Date.now() });
      return result.ok ? { ok: true, http_status: result.status } : { ok: false, http_status: result.status ?? null, error: result.error };
    },

    async deleteChannel(id: string): Promise<void> {
      checkId(id);
      const users = (await store.listRules()).filter((r) => r.channels.includes(id)).map((r) => r.id);
      if (users.length) throw conflict(`channel "${id}" is used by rule(s) ${users.join(', ')}; remove it from them first`);
      if (!(await store.deleteChannel(id))) throw notFound(`unknown channel "${id}"`);
    },

    // ---- alerts --------------------------------------------------------------------------------
    async listAlerts(params: { machine?: string } = {}): Promise<ActiveAlertJson[]> {
      if (params.machine !== undefined) machineParam(params.machine, 'machine');
      const names = new Map(engine.rules().map((r) => [r.id, r.name]));
      const metrics = new Map(engine.rules().map((r) => [r.id, r.metric]));
      const rank = (a: ActiveAlert) => (a.state === 'firing' ? 0 : 2) + (a.severity === 'critical' ? 0 : 1);
      return (await engine.activeAlerts())
        .filter((a) => params.machine === undefined || a.machine === params.machine)
        .map((a) => ({ ...a, rule_name: names.get(a.rule_id) ?? a.rule_id, metric: metrics.get(a.rule_id) ?? 'cpu_percent' }))
        .sort((a, b) => rank(a) - rank(b) || a.since - b.since || a.machine.localeCompare(b.machine) || a.rule_id.localeCompare(b.rule_id));
    },

    async history(params: { limit?: string; machine?: string; rule_id?: string; before?: string }): Promise<AlertEventJson[]> {
      const metrics = new Map(engine.rules().map((r) => [r.id, r.metric]));
      const rows = await store.history({
        limit: intParam(params.limit, 'limit', 1, MAX_HISTORY_LIMIT, 100)!,
        machine: params.machine === undefined || params.machine === '' ? undefined : machineParam(params.machine, 'machine'),
        ruleId: params.rule_id === undefined || params.rule_id === '' ? undefined : checkId(params.rule_id, 'rule_id'),
        beforeId: intParam(params.before, 'before', 1, Number.MAX_SAFE_INTEGER, undefined),
      });
      return rows.map((r) => ({ ...r, metric: metrics.get(r.rule_id) ?? null }));
    },

    async acknowledge(body: unknown): Promise<ActiveAlertJson> {
      if (!isRecord(body)) throw badRequest('the body must be a JSON object {rule_id, machine}');
      for (const key of Object.keys(body)) if (key !== 'rule_id' && key !== 'machine') throw badRequest(`${key}: unknown field (allowed: rule_id, machine)`);
      const ruleId = checkId(body.rule_id, 'rule_id');
      const machine = machineParam(body.machine, 'machine');
      const alert = await engine.acknowledge(ruleId, machine);
      const rule = engine.rules().find((r) => r.id === ruleId);
      return { ...alert, rule_name: rule?.name ?? ruleId, metric: rule?.metric ?? 'cpu_percent' };
    },

    async silence(body: unknown): Promise<{ rule_id: string; machine: string; silenced_until: number | null }> {
      if (!isRecord(body)) throw badRequest('the body must be a JSON object {rule_id, machine, duration_s}');
      for (const key of Object.keys(body)) if (!['rule_id', 'machine', 'duration_s'].includes(key)) throw badRequest(`${key}: unknown field (allowed: rule_id, machine, duration_s)`);
      const ruleId = checkId(body.rule_id, 'rule_id');
      const machine = machineParam(body.machine, 'machine');
      const d = body.duration_s;
      if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > MAX_SILENCE_SECONDS) {
        throw badRequest(`duration_s must be a number of seconds between 0 (lift the silence) and ${MAX_SILENCE_SECONDS}`);
      }
      return engine.silence(ruleId, machine, d);
    },

    // ---- dead letters --------------------------------------------------------------------------
    async deadLetters(params: { limit?: string }): Promise<DeadLetter[]> {
      return store.deadLetters(intParam(params.limit, 'limit', 1, MAX_HISTORY_LIMIT, 100)!);
    },

    async retryDeadLetter(id: string): Promise<void> {
      const n = intParam(id, 'id', 1, Number.MAX_SAFE_INTEGER, undefined);
      if (n === undefined || !(await store.retryDeadLetter(n))) throw notFound(`no dead letter with id ${id}`);
      deps.onQueued?.();
    },
  };
}

export type AlertApi = ReturnType<typeof createAlertApi>;
