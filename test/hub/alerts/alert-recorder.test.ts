// The recorder: every outbox entry becomes one alert_events record keyed by its id; a notice queues one
// notification per channel of the rule (inline, or saved and looked up once per batch), keyed by entry
// and channel; a saved channel that is gone is skipped with a warning; the dispatcher is nudged once per batch.
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { createAlertRecorder } from '../../../hub/alerts/alert-recorder.ts';
import type { AlertRule } from '../../../hub/alerts/alert-rule.ts';
import type { RecordInput, SavedChannel, StoredRule } from '../../../hub/alerts/alert-store.ts';
import type { OutboxEntry } from '../../../hub/alerts/rule-state-store.ts';

const rule = (id: string, channels: AlertRule['channels']): StoredRule =>
  ({ id, name: id, metric: 'cpu_percent', op: '>', threshold: 90, clear_threshold: 90, for_s: 0, severity: 'critical', scope: {}, channels, repeat_s: 0, mount: null }) as StoredRule;

const entry = (id: string, ruleId: string, state: string | undefined, notice: OutboxEntry['notice']): OutboxEntry => ({
  id,
  at: 2000,
  ruleId,
  ruleName: ruleId,
  metric: 'cpu_percent',
  condition: 'cpu_percent > 90',
  machine: 'm1',
  severity: 'critical',
  state,
  notice,
  value: 95,
  since: 1000,
  detail: null,
});

describe('alert recorder', () => {
  test('records every entry and queues a notification per channel of a notice', async () => {
    const rules = new Map([
      ['hook', rule('hook', [{ type: 'webhook', url: 'http://127.0.0.1:9/a' }, 'saved', 'deleted'])],
      ['quiet', rule('quiet', [])],
    ]);
    const saved: SavedChannel[] = [{ id: 'saved', name: 'S', type: 'ntfy', url: 'http://127.0.0.1:9/n' } as SavedChannel];
    const recorded: RecordInput[] = [];
    let channelLists = 0;
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const stats = { recorded: 0 };
    let nudges = 0;
    const record = createAlertRecorder({
      store: {
        getRule: async (id) => rules.get(id),
        listChannels: async () => {
          channelLists++;
          return saved;
        },
        record: async (input) => {
          recorded.push(input);
          return true;
        },
      },
      log,
      stats,
      onRecorded: () => nudges++,
    });
    await record([entry('e1', 'hook', 'firing', 'firing'), entry('e2', 'quiet', 'acknowledged', undefined), entry('e3', 'hook', undefined, 'reminder')]);
    expect(recorded.map((r) => [r.transitionId, r.state, r.notifications.length])).toEqual([
      ['e1', 'firing', 2],
      ['e2', 'acknowledged', 0],
      ['e3', undefined, 2],
    ]);
    expect(recorded[0].notifications.map((n) => [n.dedupeKey, n.channel.type, n.message.kind])).toEqual([
      ['e1:0', 'webhook', 'firing'],
      ['e1:1', 'ntfy', 'firing'],
    ]);
    expect(recorded[0].notifications[0].message).toEqual({ kind: 'firing', rule_id: 'hook', rule_name: 'hook', metric: 'cpu_percent', condition: 'cpu_percent > 90', severity: 'critical', machine: 'm1', value: 95, since: 1000, at: 2000 });
    expect(channelLists).toBe(1);
    expect(warnings.filter((w) => /no longer exists/.test(w))).toHaveLength(2);
    expect(stats.recorded).toBe(3);
    expect(nudges).toBe(1);
  });

  test('a failing record throws (the outbox keeps the batch) and nudges nobody', async () => {
    let nudges = 0;
    const record = createAlertRecorder({
      store: { getRule: async () => undefined, listChannels: async () => [], record: async () => Promise.reject(new Error('database down')) },
      log: pino({ level: 'silent' }),
      stats: { recorded: 0 },
      onRecorded: () => nudges++,
    });
    await expect(record([entry('e1', 'r', 'firing', undefined)])).rejects.toThrow('database down');
    expect(nudges).toBe(0);
  });
});
