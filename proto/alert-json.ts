// The alerting REST API's JSON (GET/PUT /api/rules, /api/channels, /api/alerts, /api/alerts/history):
// the one definition the hub answers with (hub/alerts/alert-api.ts) and the dashboard reads
// (web/src/alerts-api.ts, web/src/rule-form.ts). Types only, plus the two closed lists.
import type { AlertMetric } from './alert-metrics.ts';

export const SEVERITIES = ['warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const CHANNEL_TYPES = ['webhook', 'slack', 'discord', 'ntfy'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** A notification target as a client writes it inline in a rule or saves it. */
export interface ChannelSpec {
  type: ChannelType;
  url: string;
  secret?: string;
}

/** An inline channel as the hub answers it: the secret is write-only, `has_secret` says whether one is set. */
export interface ChannelAnswerJson {
  type: ChannelType;
  url: string;
  has_secret: boolean;
}
/** A rule's channel in an answer: inline, or the id of a saved channel. */
export type ChannelRefJson = string | ChannelAnswerJson;

/** An inline channel as the dashboard handles it: sent with a new secret, or `has_secret: false` to drop it. */
export interface InlineChannelJson extends ChannelSpec {
  has_secret?: boolean;
}

export interface RuleScope {
  machines?: string[];
  labels?: Record<string, string>;
}

/** The fields of a rule, in requests and answers alike; `C` is how its channels are written. */
export interface RuleFields<C> {
  name: string;
  metric: AlertMetric;
  op: '>' | '<';
  threshold: number;
  for_s: number;
  clear_threshold: number;
  severity: Severity;
  scope: RuleScope;
  channels: C[];
  repeat_s: number;
  mount: string | null;
}

/** A rule as the hub answers it. */
export interface StoredRuleJson extends RuleFields<ChannelRefJson> {
  id: string;
  created_at: number;
  updated_at: number;
}

/** A saved channel as the hub answers it. */
export interface ChannelJson {
  id: string;
  name: string;
  type: ChannelType;
  url: string;
  has_secret: boolean;
  created_at: number;
}

/** POST /api/channels/{id}/test. */
export interface ChannelTestJson {
  /** The channel answered 2xx. */
  ok: boolean;
  /** The channel's HTTP status; null when it did not answer. */
  http_status: number | null;
  error?: string;
}

/** An active (pending or firing) alert, GET /api/alerts. */
export interface ActiveAlertJson {
  rule_id: string;
  rule_name: string;
  machine: string;
  state: 'pending' | 'firing';
  severity: Severity;
  /** The rule's metric, so a client can show the value with its unit. */
  metric: AlertMetric;
  /** When the current state began (ms). */
  since: number;
  value: number | null;
  acknowledged: boolean;
  /** Notifications held back until (ms), or null. */
  silenced_until: number | null;
}

/** One row of GET /api/alerts/history. */
export interface AlertEventJson {
  id: number;
  time: number;
  rule_id: string;
  rule_name: string;
  machine: string;
  state: string;
  severity: string;
  /** The rule's metric; null when the rule has been deleted since. */
  metric: AlertMetric | null;
  value: number | null;
  detail: string | null;
}
