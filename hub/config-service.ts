// ConfigService over gRPC: alert rules, saved channels, active alerts, history, acknowledge, silence and
// dead letters — the same answers as the REST API, through the same AlertApi. A request message is
// turned into the JSON the REST API takes, so one validator decides both. Writes pass admin-auth.ts
// (the peer address comes from the hub's Connect adapter, see peerContextValues).
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  AlertRuleSchema,
  ConfigService,
  type ActiveAlert as ActiveAlertMessage,
  type AlertRule as AlertRuleMessage,
  type NotificationChannel,
} from '../proto/gen/sysmonstm/v1/config_pb.js';
import type { ActiveAlertJson, AlertApi, ChannelJson, RuleJson } from './alerts/alert-api.ts';
import { authorizeAdmin, peerAddressKey } from './gateway/admin-auth.ts';
import { badRequest, notFound } from './errors.ts';
import { parseMachineSettings, type MachineSettingsJson } from '../proto/machine-settings.ts';

/** The REST JSON of a rule from its message; absent optional fields stay absent so the defaults apply. */
export function ruleMessageToJson(rule: AlertRuleMessage | undefined): Record<string, unknown> {
  if (!rule) throw new ConnectError('rule is required', Code.InvalidArgument);
  const body: Record<string, unknown> = {
    name: rule.name,
    metric: rule.metric,
    threshold: rule.threshold,
    for_s: rule.forS,
    channels: rule.channels.map((c, i) => {
      if (c.ref.case === 'id') return c.ref.value;
      if (c.ref.case === 'channel') {
        const ch: NotificationChannel = c.ref.value;
        return { type: ch.type, url: ch.url, ...(ch.secret ? { secret: ch.secret } : {}), ...(ch.hasSecret ? {} : { has_secret: false }) };
      }
      throw new ConnectError(`channels[${i}] is empty: set id or channel`, Code.InvalidArgument);
    }),
  };
  if (rule.id) body.id = rule.id;
  if (rule.op) body.op = rule.op;
  if (rule.severity) body.severity = rule.severity;
  if (rule.clearThreshold !== undefined) body.clear_threshold = rule.clearThreshold;
  if (rule.repeatS) body.repeat_s = rule.repeatS;
  if (rule.mount) body.mount = rule.mount;
  if (rule.scope) {
    const scope: Record<string, unknown> = {};
    if (rule.scope.machines.length) scope.machines = rule.scope.machines;
    if (Object.keys(rule.scope.labels).length) scope.labels = rule.scope.labels;
    body.scope = scope;
  }
  return body;
}

export function ruleJsonToMessage(rule: RuleJson): AlertRuleMessage {
  return create(AlertRuleSchema, {
    id: rule.id,
    name: rule.name,
    metric: rule.metric,
    op: rule.op,
    threshold: rule.threshold,
    forS: rule.for_s,
    clearThreshold: rule.clear_threshold,
    severity: rule.severity,
    scope: rule.scope.machines || rule.scope.labels ? { machines: rule.scope.machines ?? [], labels: rule.scope.labels ?? {} } : undefined,
    channels: rule.channels.map((c) =>
      typeof c === 'string'
        ? { ref: { case: 'id' as const, value: c } }
        : { ref: { case: 'channel' as const, value: { type: c.type, url: c.url, hasSecret: c.has_secret } } },
    ),
    repeatS: rule.repeat_s,
    mount: rule.mount ?? '',
    createdAtMs: BigInt(rule.created_at),
    updatedAtMs: BigInt(rule.updated_at),
  });
}

function alertMessage(a: ActiveAlertJson): Omit<ActiveAlertMessage, '$typeName'> {
  return {
    ruleId: a.rule_id,
    ruleName: a.rule_name,
    machine: a.machine,
    state: a.state,
    severity: a.severity,
    sinceMs: BigInt(a.since),
    value: a.value ?? undefined,
    acknowledged: a.acknowledged,
    silencedUntilMs: BigInt(a.silenced_until ?? 0),
  };
}

function savedChannel(c: ChannelJson) {
  return { id: c.id, name: c.name, channel: { type: c.type, url: c.url, hasSecret: c.has_secret }, createdAtMs: BigInt(c.created_at) };
}

/** What GetMachineSettings / SetMachineSettings need: the same object as the REST routes'. */
export interface MachineSettingsApi {
  known(id: string): Promise<boolean>;
  get(id: string): Promise<MachineSettingsJson>;
  /** Stores the settings and pushes them to the machine's live stream. */
  put(id: string, settings: MachineSettingsJson): Promise<void>;
}

export function createConfigService(deps: { api: AlertApi; adminToken: string | undefined; machineSettings?: MachineSettingsApi }): ServiceImpl<typeof ConfigService> {
  const { api } = deps;
  const settingsApi = () => {
    if (!deps.machineSettings) throw new ConnectError('machine settings are not served here', Code.Unimplemented);
    return deps.machineSettings;
  };
  const knownMachine = async (id: string) => {
    if (!id) throw badRequest('machine_id is required');
    if (!(await settingsApi().known(id))) throw notFound(`unknown machine "${id}"`);
  };
  const admin = (ctx: HandlerContext) => {
    const decision = authorizeAdmin({ adminToken: deps.adminToken, authorization: ctx.requestHeader.get('authorization'), peerAddress: ctx.values.get(peerAddressKey) });
    if (!decision.ok) throw new ConnectError(decision.message, decision.status === 401 ? Code.Unauthenticated : Code.PermissionDenied);
  };
  /** A write: authorised first. What it throws becomes a gRPC code in grpc-errors.ts. */
  const write = async <T>(ctx: HandlerContext, fn: () => Promise<T>): Promise<T> => {
    admin(ctx);
    return fn();
  };

  return {
    listRules: async () => ({ rules: (await api.listRules()).map(ruleJsonToMessage) }),
    getRule: async (req) => ({ rule: ruleJsonToMessage(await api.getRule(req.id)) }),
    createRule: (req, ctx) => write(ctx, async () => ({ rule: ruleJsonToMessage(await api.createRule(ruleMessageToJson(req.rule))) })),
    updateRule: (req, ctx) => write(ctx, async () => ({ rule: ruleJsonToMessage(await api.updateRule(req.id, ruleMessageToJson(req.rule))) })),
    deleteRule: (req, ctx) =>
      write(ctx, async () => {
        await api.deleteRule(req.id);
        return {};
      }),
    listChannels: async () => ({ channels: (await api.listChannels()).map(savedChannel) }),
    createChannel: (req, ctx) =>
      write(ctx, async () => {
        const ch = req.channel;
        // An empty name (proto3's default) means none given: the hub names the channel.
        const body: Record<string, unknown> = { type: ch?.type ?? '', url: ch?.url ?? '' };
        if (req.name) body.name = req.name;
        if (req.id) body.id = req.id;
        if (ch?.secret) body.secret = ch.secret;
        return { channel: savedChannel(await api.createChannel(body)) };
      }),
    deleteChannel: (req, ctx) =>
      write(ctx, async () => {
        await api.deleteChannel(req.id);
        return {};
      }),
    listAlerts: async (req) => ({ alerts: (await api.listAlerts({ machine: req.machine || undefined })).map(alertMessage) }),
    listAlertHistory: async (req) => ({
      events: (
        await api.history({
          limit: req.limit ? String(req.limit) : undefined,
          machine: req.machine || undefined,
          rule_id: req.ruleId || undefined,
          before: req.beforeId ? String(req.beforeId) : undefined,
        })
      ).map((e) => ({
        id: BigInt(e.id),
        timeMs: BigInt(e.time),
        ruleId: e.rule_id,
        ruleName: e.rule_name,
        machine: e.machine,
        state: e.state,
        severity: e.severity,
        value: e.value ?? undefined,
        detail: e.detail ?? '',
      })),
    }),
    acknowledgeAlert: (req, ctx) => write(ctx, async () => ({ alert: alertMessage(await api.acknowledge({ rule_id: req.ruleId, machine: req.machine })) })),
    silenceAlert: (req, ctx) =>
      write(ctx, async () => {
        const result = await api.silence({ rule_id: req.ruleId, machine: req.machine, duration_s: req.durationS });
        return { silencedUntilMs: BigInt(result.silenced_until ?? 0) };
      }),
    listDeadLetters: async (req) => ({
      deadLetters: (await api.deadLetters({ limit: req.limit ? String(req.limit) : undefined })).map((d) => ({
        id: BigInt(d.id),
        createdAtMs: BigInt(d.created_at),
        failedAtMs: BigInt(d.failed_at),
        kind: d.kind,
        ruleId: d.rule_id,
        machine: d.machine,
        channelType: d.channel.type,
        channelUrl: d.channel.url,
        attempts: d.attempts,
        lastError: d.last_error ?? '',
      })),
    }),
    getMachineSettings: async (req) => {
      await knownMachine(req.machineId);
      return { settings: await settingsApi().get(req.machineId) };
    },
    setMachineSettings: (req, ctx) =>
      write(ctx, async () => {
        // Absent settings: intervalMs 0, the collector's own (proto3 has no "missing" for a number).
        const parsed = parseMachineSettings({ intervalMs: req.settings?.intervalMs ?? 0 });
        if (!parsed.ok) throw badRequest(parsed.error);
        await knownMachine(req.machineId);
        await settingsApi().put(req.machineId, parsed.settings);
        return { settings: parsed.settings };
      }),
    retryDeadLetter: (req, ctx) =>
      write(ctx, async () => {
        await api.retryDeadLetter(String(req.id));
        return {};
      }),
  };
}
