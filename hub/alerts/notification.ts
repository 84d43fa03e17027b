// Notification messages and how each channel type wants them, pure and deterministic (the send time is
// an argument): the generic webhook (JSON, HMAC-SHA256 signature over the raw body), Slack and Discord
// incoming webhooks, and ntfy (text body, Title/Priority/Tags headers). Also the retry schedule and
// which failures are worth retrying. Delivery itself is notification-dispatcher.ts.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertMetric, ChannelSpec, Severity } from './alert-rule.ts';
import type { NoticeKind } from './evaluate.ts';
import { formatAlertValue } from '../../proto/alert-metrics.ts';
import { backoffCeilingMs } from '../../proto/backoff.ts';

/** What one notification says; stored with the queued notification and rendered per channel. */
export interface AlertMessage {
  /** "test": sent by POST /api/channels/{id}/test, not by an alert. */
  kind: NoticeKind | 'test';
  rule_id: string;
  rule_name: string;
  metric: AlertMetric;
  /** The rule's condition in words, e.g. "cpu_percent > 90 for 300 s". */
  condition: string;
  severity: Severity;
  machine: string;
  value: number | null;
  /** When the alert started firing (ms). */
  since: number;
  /** When this notification was decided (ms). */
  at: number;
}

export interface HttpRequestSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export const SIGNATURE_HEADER = 'X-Sysmonstm-Signature';
export const TIMESTAMP_HEADER = 'X-Sysmonstm-Timestamp';
export const EVENT_HEADER = 'X-Sysmonstm-Event';

/** `sha256=<hex>` of HMAC-SHA256(secret, body). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a signature header against the raw body (what a receiver does). */
export function verifySignature(secret: string, body: string, header: string | null | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function formatValue(msg: AlertMessage): string {
  const text = formatAlertValue(msg.metric, msg.value);
  return msg.value === null || msg.metric === 'offline' ? text : `value ${text}`;
}

const KIND_LABEL: Record<AlertMessage['kind'], string> = { firing: 'FIRING', reminder: 'STILL FIRING', resolved: 'RESOLVED', test: 'TEST' };

/** One line for chat channels and the ntfy title. */
export function summaryLine(msg: AlertMessage): string {
  const sev = msg.kind === 'resolved' || msg.kind === 'test' ? '' : ` ${msg.severity}`;
  return `[${KIND_LABEL[msg.kind]}]${sev} ${msg.rule_name} on ${msg.machine}`;
}

export function detailLine(msg: AlertMessage): string {
  if (msg.kind === 'test') return 'A test notification: this channel reaches you. No alert is firing.';
  return msg.kind === 'resolved'
    ? `Back to normal: ${formatValue(msg)} (rule: ${msg.condition}).`
    : `${formatValue(msg)} (rule: ${msg.condition}), firing since ${new Date(msg.since).toISOString()}.`;
}

/** Slack mrkdwn treats <, > and & as control characters (<!channel> pings everyone): escape them. */
export function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** HTTP header values must be ASCII here; ntfy decodes RFC 2047 encoded words (=?UTF-8?B?…?=). */
export function headerText(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(oneLine)) return oneLine;
  return `=?UTF-8?B?${Buffer.from(oneLine, 'utf8').toString('base64')}?=`;
}

const NTFY_PRIORITY: Record<Severity, string> = { critical: '5', warning: '4' };

export function renderNotification(channel: ChannelSpec, msg: AlertMessage, sentAtMs: number): HttpRequestSpec {
  const text = `${summaryLine(msg)}\n${detailLine(msg)}`;
  switch (channel.type) {
    case 'webhook': {
      const body = JSON.stringify({ version: 1, ...msg, sent_at: sentAtMs });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: String(sentAtMs),
        [EVENT_HEADER]: msg.kind,
      };
      if (channel.secret) headers[SIGNATURE_HEADER] = signBody(channel.secret, body);
      return { url: channel.url, headers, body };
    }
    case 'slack':
      return { url: channel.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: escapeSlack(text) }) };
    case 'discord':
      // No mention in a machine or rule name may ping anyone.
      return {
        url: channel.url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: text.slice(0, 2000), allowed_mentions: { parse: [] } }),
      };
    case 'ntfy': {
      const headers: Record<string, string> = {
        'content-type': 'text/plain; charset=utf-8',
        Title: headerText(summaryLine(msg)),
        Priority: msg.kind === 'resolved' || msg.kind === 'test' ? '3' : NTFY_PRIORITY[msg.severity],
        Tags: msg.kind === 'test' ? 'test_tube' : msg.kind === 'resolved' ? 'white_check_mark' : msg.severity === 'critical' ? 'rotating_light' : 'warning',
      };
      // A secret on an ntfy channel is an access token for a protected topic.
      if (channel.secret) headers.Authorization = `Bearer ${channel.secret}`;
      return { url: channel.url, headers, body: detailLine(msg) };
    }
  }
}

/** Delay before attempt `attempt + 1` after `attempt` failed (1-based): base · 2^(attempt-1), capped at 15 min. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return backoffCeilingMs(attempt - 1, baseMs, 15 * 60_000);
}

/**
 * Whether a failed attempt may succeed later: network errors, timeouts, 5xx, 408 and 429 may; other 4xx
 * (a wrong URL, a payload the service refuses) will not, so they go to the dead letters at once.
 */
export function isRetryable(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status >= 500 || status === 408 || status === 429;
}
