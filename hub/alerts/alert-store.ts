// Alert data in SQL (the hub's one SqlClient: PostgreSQL/TimescaleDB or the embedded PGlite): rules,
// saved channels, the alert_events log, and the notification queue with its dead letters. Every write
// that may be repeated (a transition delivered twice) is idempotent through a unique key.
import type { AlertEventJson } from '../../proto/alert-json.ts';
import { conflict } from '../errors.ts';
import type { SqlClient, SqlExecutor } from '../db.ts';
import type { AlertRule, ChannelRef, ChannelSpec, ChannelType, RuleScope } from './alert-rule.ts';
import type { AlertMessage } from './notification.ts';

export interface StoredRule extends AlertRule {
  created_at: number;
  updated_at: number;
}

export interface SavedChannel extends ChannelSpec {
  id: string;
  name: string;
  created_at: number;
}

/** A row of alert_events: GET /api/alerts/history without the rule's metric (proto/alert-json.ts). */
export type AlertEventRow = Omit<AlertEventJson, 'metric'>;

export interface QueuedNotification {
  /** Unique per notification and channel: `${transition id}:${channel index}`. */
  dedupeKey: string;
  channel: ChannelSpec;
  message: AlertMessage;
}

export interface RecordInput {
  transitionId: string;
  timeMs: number;
  ruleId: string;
  ruleName: string;
  machine: string;
  /** alert_events.state; undefined for a reminder, which is a notification, not a transition. */
  state: string | undefined;
  severity: string;
  value: number | null;
  detail: string | null;
  notifications: QueuedNotification[];
}

export interface NotificationJob {
  id: number;
  kind: string;
  ruleId: string;
  machine: string;
  channel: ChannelSpec;
  message: AlertMessage;
  attempts: number;
}

export interface DeadLetter {
  id: number;
  created_at: number;
  failed_at: number;
  kind: string;
  rule_id: string;
  machine: string;
  channel: { type: string; url: string };
  attempts: number;
  last_error: string | null;
  message: AlertMessage;
}

const RULE_COLUMNS = `id, name, metric, op, threshold, for_s, clear_threshold, severity, repeat_s, mount, scope, channels,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms, (extract(epoch FROM updated_at) * 1000)::float8 AS updated_ms`;

interface RuleRow {
  id: string;
  name: string;
  metric: AlertRule['metric'];
  op: AlertRule['op'];
  threshold: number;
  for_s: number;
  clear_threshold: number;
  severity: AlertRule['severity'];
  repeat_s: number;
  mount: string | null;
  scope: unknown;
  channels: unknown;
  created_ms: number;
  updated_ms: number;
}

/** jsonb comes back parsed from node-postgres and PGlite alike; a string is parsed defensively. */
function json<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  if (typeof v === 'string') {
    try {
      return JSON.parse(v) as T;
    } catch {
      return fallback;
    }
  }
  return v as T;
}

function toRule(r: RuleRow): StoredRule {
  return {
    id: r.id,
    name: r.name,
    metric: r.metric,
    op: r.op,
    threshold: Number(r.threshold),
    for_s: Number(r.for_s),
    clear_threshold: Number(r.clear_threshold),
    severity: r.severity,
    scope: json<RuleScope>(r.scope, {}),
    channels: json<ChannelRef[]>(r.channels, []),
    repeat_s: Number(r.repeat_s),
    mount: r.mount,
    created_at: Math.round(Number(r.created_ms)),
    updated_at: Math.round(Number(r.updated_ms)),
  };
}

function ruleParams(rule: AlertRule): unknown[] {
  return [
    rule.id,
    rule.name,
    rule.metric,
    rule.op,
    rule.threshold,
    rule.for_s,
    rule.clear_threshold,
    rule.severity,
    rule.repeat_s,
    rule.mount,
    JSON.stringify(rule.scope),
    JSON.stringify(rule.channels),
  ];
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

export function createAlertStore(db: SqlClient) {
  async function queueNotifications(tx: SqlExecutor, input: RecordInput): Promise<void> {
    for (const n of input.notifications) {
      await tx.query(
        `INSERT INTO alert_notifications (dedupe_key, kind, rule_id, machine_id, channel_type, channel_url, channel_secret, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) ON CONFLICT (dedupe_key) DO NOTHING`,
        [n.dedupeKey, n.message.kind, input.ruleId, input.machine, n.channel.type, n.channel.url, n.channel.secret ?? null, JSON.stringify(n.message)],
      );
    }
  }

  return {
    // ---- rules -------------------------------------------------------------------------------
    async listRules(): Promise<StoredRule[]> {
      const { rows } = await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules ORDER BY created_at, id`);
      return rows.map(toRule);
    },

    async getRule(id: string): Promise<StoredRule | undefined> {
      const { rows } = await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1`, [id]);
      return rows[0] ? toRule(rows[0]) : undefined;
    },

    async countRules(): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_rules');
      return Number(rows[0].n);
    },

    async insertRule(rule: AlertRule): Promise<StoredRule> {
      try {
        const { rows } = await db.query<RuleRow>(
          `INSERT INTO alert_rules (id, name, metric, op, threshold, for_s, clear_threshold, severity, repeat_s, mount, scope, channels)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb) RETURNING ${RULE_COLUMNS}`,
          ruleParams(rule),
        );
        return toRule(rows[0]);
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`a rule with id "${rule.id}" exists already`);
        throw err;
      }
    },

    async updateRule(rule: AlertRule): Promise<StoredRule | undefined> {
      const { rows } = await db.query<RuleRow>(
        `UPDATE alert_rules SET name = $2, metric = $3, op = $4, threshold = $5, for_s = $6, clear_threshold = $7, severity = $8,
           repeat_s = $9, mount = $10, scope = $11::jsonb, channels = $12::jsonb, updated_at = now()
         WHERE id = $1 RETURNING ${RULE_COLUMNS}`,
        ruleParams(rule),
      );
      return rows[0] ? toRule(rows[0]) : undefined;
    },

    async deleteRule(id: string): Promise<boolean> {
      const { rows } = await db.query('DELETE FROM alert_rules WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },

    // ---- saved channels ------------------------------------------------------------------------
    async listChannels(): Promise<SavedChannel[]> {
      const { rows } = await db.query<{ id: string; name: string; type: ChannelType; url: string; secret: string | null; created_ms: number }>(
        `SELECT id, name, type, url, secret, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms FROM alert_channels ORDER BY created_at, id`,
      );
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        type: r.type,
        url: r.url,
        ...(r.secret ? { secret: r.secret } : {}),
        created_at: Math.round(Number(r.created_ms)),
      }));
    },

    async countChannels(): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_channels');
      return Number(rows[0].n);
    },

    async insertChannel(ch: SavedChannel): Promise<void> {
      try {
        await db.query('INSERT INTO alert_channels (id, name, type, url, secret) VALUES ($1, $2, $3, $4, $5)', [ch.id, ch.name, ch.type, ch.url, ch.secret ?? null]);
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`a channel with id "${ch.id}" exists already`);
        throw err;
      }
    },

    async deleteChannel(id: string): Promise<boolean> {
      const { rows } = await db.query('DELETE FROM alert_channels WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },

    // ---- transitions ---------------------------------------------------------------------------
    /**
     * Stores one transition (when it has a state) and queues its notifications, in one transaction.
     * Returns false when the transition was stored before (a redelivery): nothing is queued twice.
     */
    async record(input: RecordInput): Promise<boolean> {
      return db.transaction(async (tx) => {
        if (input.state !== undefined) {
          const { rows } = await tx.query(
            `INSERT INTO alert_events (transition_id, time, rule_id, rule_name, machine_id, state, severity, value, detail)
             VALUES ($1, to_timestamp($2::float8 / 1000), $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (transition_id) DO NOTHING RETURNING id`,
            [input.transitionId, input.timeMs, input.ruleId, input.ruleName, input.machine, input.state, input.severity, input.value, input.detail],
          );
          if (rows.length === 0) return false;
        }
        await queueNotifications(tx, input);
        return true;
      });
    },

    /**
     * Newest first by id (a bigint; ordered as a number: the text alias `id` would sort "9" before
     * "52"); `beforeId` pages on from the last id seen.
     */
    async history(params: { limit: number; machine?: string; ruleId?: string; beforeId?: number }): Promise<AlertEventRow[]> {
      const where: string[] = [];
      const args: unknown[] = [];
      if (params.machine) where.push(`machine_id = $${args.push(params.machine)}`);
      if (params.ruleId) where.push(`rule_id = $${args.push(params.ruleId)}`);
      if (params.beforeId) where.push(`id < $${args.push(params.beforeId)}`);
      const { rows } = await db.query<{
        id: string;
        time_ms: number;
        rule_id: string;
        rule_name: string;
        machine_id: string;
        state: string;
        severity: string;
        value: number | null;
        detail: string | null;
      }>(
        `SELECT id::text AS id, (extract(epoch FROM time) * 1000)::float8 AS time_ms, rule_id, rule_name, machine_id, state, severity, value, detail
         FROM alert_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY alert_events.id DESC LIMIT $${args.push(params.limit)}`,
        args,
      );
      return rows.map((r) => ({
        id: Number(r.id),
        time: Math.round(Number(r.time_ms)),
        rule_id: r.rule_id,
        rule_name: r.rule_name,
        machine: r.machine_id,
        state: r.state,
        severity: r.severity,
        value: r.value === null ? null : Number(r.value),
        detail: r.detail,
      }));
    },

    // ---- notification queue --------------------------------------------------------------------
    /** Leases up to `limit` due notifications to the caller for `leaseMs` and counts the attempt. */
    async claimNotifications(limit: number, leaseMs: number): Promise<NotificationJob[]> {
      const { rows } = await db.query<{
        id: string;
        kind: string;
        rule_id: string;
        machine_id: string;
        channel_type: ChannelType;
        channel_url: string;
        channel_secret: string | null;
        message: unknown;
        attempts: number;
      }>(
        `UPDATE alert_notifications SET locked_until = now() + ($2::float8 * interval '1 millisecond'), attempts = attempts + 1
         WHERE id IN (
           SELECT id FROM alert_notifications
           WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
           ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id::text AS id, kind, rule_id, machine_id, channel_type, channel_url, channel_secret, message, attempts`,
        [limit, leaseMs],
      );
      return rows.map((r) => ({
        id: Number(r.id),
        kind: r.kind,
        ruleId: r.rule_id,
        machine: r.machine_id,
        channel: { type: r.channel_type, url: r.channel_url, ...(r.channel_secret ? { secret: r.channel_secret } : {}) },
        message: json<AlertMessage>(r.message, {} as AlertMessage),
        attempts: Number(r.attempts),
      }));
    },

    async markSent(id: number): Promise<void> {
      await db.query(`UPDATE alert_notifications SET status = 'sent', finished_at = now(), locked_until = NULL, last_error = NULL WHERE id = $1`, [id]);
    },

    async markRetry(id: number, delayMs: number, error: string): Promise<void> {
      await db.query(
        `UPDATE alert_notifications SET next_attempt_at = now() + ($2::float8 * interval '1 millisecond'), locked_until = NULL, last_error = $3 WHERE id = $1`,
        [id, delayMs, error.slice(0, 1000)],
      );
    },

    async markDeferred(id: number, delayMs: number): Promise<void> {
      // Not sent at all (its receiver is busy or its circuit open): the claimed attempt is given back.
      await db.query(
        `UPDATE alert_notifications SET next_attempt_at = now() + ($2::float8 * interval '1 millisecond'), locked_until = NULL, attempts = greatest(attempts - 1, 0) WHERE id = $1`,
        [id, delayMs],
      );
    },

    async markDead(id: number, error: string): Promise<void> {
      await db.query(`UPDATE alert_notifications SET status = 'dead', finished_at = now(), locked_until = NULL, last_error = $2 WHERE id = $1`, [id, error.slice(0, 1000)]);
    },

    async deadLetters(limit: number): Promise<DeadLetter[]> {
      const { rows } = await db.query<{
        id: string;
        created_ms: number;
        failed_ms: number;
        kind: string;
        rule_id: string;
        machine_id: string;
        channel_type: string;
        channel_url: string;
        attempts: number;
        last_error: string | null;
        message: unknown;
      }>(
        `SELECT id::text AS id, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms, (extract(epoch FROM finished_at) * 1000)::float8 AS failed_ms,
           kind, rule_id, machine_id, channel_type, channel_url, attempts, last_error, message
         FROM alert_notifications WHERE status = 'dead' ORDER BY finished_at DESC, alert_notifications.id DESC LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({
        id: Number(r.id),
        created_at: Math.round(Number(r.created_ms)),
        failed_at: Math.round(Number(r.failed_ms)),
        kind: r.kind,
        rule_id: r.rule_id,
        machine: r.machine_id,
        channel: { type: r.channel_type, url: r.channel_url },
        attempts: Number(r.attempts),
        last_error: r.last_error,
        message: json<AlertMessage>(r.message, {} as AlertMessage),
      }));
    },

    /** Puts a dead letter back in the queue for a fresh series of attempts. */
    async retryDeadLetter(id: number): Promise<boolean> {
      const { rows } = await db.query(
        `UPDATE alert_notifications SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL, finished_at = NULL
         WHERE id = $1 AND status = 'dead' RETURNING id`,
        [id],
      );
      return rows.length > 0;
    },

    /** Sent notifications older than `days` are deleted (dead letters stay until retried). */
    async pruneSent(days: number): Promise<void> {
      await db.query(`DELETE FROM alert_notifications WHERE status = 'sent' AND finished_at < now() - ($1::float8 * interval '1 day')`, [days]);
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;
