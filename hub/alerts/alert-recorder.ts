// The recorder: what the outbox says happened (rule-state-store.ts consumeOutbox, one hub at a time)
// becomes alert_events rows and, for a notice, one queued notification per channel of the rule, all
// keyed by the entry's id so a redelivered entry records nothing twice; then the dispatcher is nudged.
// Saved channels are resolved at recording time (a channel deleted since leaves a warning, not a send).
import type { Logger } from '../log.ts';
import type { ChannelSpec } from './alert-rule.ts';
import type { AlertStore, QueuedNotification } from './alert-store.ts';
import type { AlertMessage } from './notification.ts';
import type { OutboxEntry } from './rule-state-store.ts';

export interface AlertRecorderDeps {
  store: Pick<AlertStore, 'getRule' | 'listChannels' | 'record'>;
  log: Logger;
  /** Counts every recorded entry. */
  stats: { recorded: number };
  /** Called after a batch was recorded (the dispatcher looks at its queue). */
  onRecorded?: () => void;
}

/** The message a notice sends. */
export function alertMessage(e: OutboxEntry & { notice: NonNullable<OutboxEntry['notice']> }): AlertMessage {
  return {
    kind: e.notice,
    rule_id: e.ruleId,
    rule_name: e.ruleName,
    metric: e.metric,
    condition: e.condition,
    severity: e.severity,
    machine: e.machine,
    value: e.value,
    since: e.since,
    at: e.at,
  };
}

export function createAlertRecorder(deps: AlertRecorderDeps): (entries: OutboxEntry[]) => Promise<void> {
  const { store, log } = deps;

  async function channelsFor(ruleId: string, saved: Map<string, ChannelSpec> | undefined): Promise<{ channels: ChannelSpec[]; saved: Map<string, ChannelSpec> }> {
    const rule = await store.getRule(ruleId);
    const known = saved ?? new Map((await store.listChannels()).map((c) => [c.id, { type: c.type, url: c.url, ...(c.secret ? { secret: c.secret } : {}) }]));
    const channels: ChannelSpec[] = [];
    for (const ref of rule?.channels ?? []) {
      if (typeof ref !== 'string') channels.push(ref);
      else if (known.has(ref)) channels.push(known.get(ref)!);
      else log.warn({ rule: ruleId, channel: ref }, 'a rule refers to a saved channel that no longer exists');
    }
    return { channels, saved: known };
  }

  return async function record(entries) {
    let saved: Map<string, ChannelSpec> | undefined;
    for (const e of entries) {
      let notifications: QueuedNotification[] = [];
      if (e.notice) {
        const found = await channelsFor(e.ruleId, saved);
        saved = found.saved;
        const message = alertMessage({ ...e, notice: e.notice });
        notifications = found.channels.map((channel, i) => ({ dedupeKey: `${e.id}:${i}`, channel, message }));
      }
      await store.record({
        transitionId: e.id,
        timeMs: e.at,
        ruleId: e.ruleId,
        ruleName: e.ruleName,
        machine: e.machine,
        state: e.state,
        severity: e.severity,
        value: e.value,
        detail: e.detail,
        notifications,
      });
      deps.stats.recorded++;
      if (e.state) log.info({ rule: e.ruleId, machine: e.machine, state: e.state, value: e.value, notify: e.notice ?? null }, 'alert transition');
    }
    deps.onRecorded?.();
  };
}
