// The engine's actions share the one compare-and-set loop: a deleted rule removes its alerts on every
// machine it can, and a machine whose rule states keep changing under every attempt is named in a
// clear error (it used to be skipped without a word); acknowledging there fails the same way.
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { createAlertEngine, type AlertEngine } from '../../../hub/alerts/alert-engine.ts';
import type { StoredRule } from '../../../hub/alerts/alert-store.ts';
import { MAX_COMMIT_ATTEMPTS } from '../../../hub/alerts/commit-rule-states.ts';
import { OK_STATE } from '../../../hub/alerts/evaluate.ts';
import { createMemoryRuleState } from '../../../hub/alerts/memory-rule-state.ts';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';

const log = pino({ level: 'silent' });
const rule = { id: 'cpu', name: 'CPU', metric: 'cpu_percent', op: '>', threshold: 90, clear_threshold: 90, for_s: 0, severity: 'critical', scope: {}, channels: [], repeat_s: 0, mount: null } as unknown as StoredRule;
const firing = { ...OK_STATE, phase: 'firing' as const, sinceMs: 1000, value: 95, lastSampleMs: 1000, notifiedFiring: true };

let engine: AlertEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function setup() {
  const state = createMemoryRuleState(log);
  for (const m of ['m-ok', 'm-busy']) {
    await state.commit(m, 0, { cpu: firing }, [{ ruleId: 'cpu', machine: m, alert: { rule_id: 'cpu', machine: m, state: 'firing', severity: 'critical', since: 1000, value: 95, acknowledged: false, silenced_until: null } }], []);
  }
  // Another writer wins every race on m-busy.
  const commit = state.commit.bind(state);
  let busyAttempts = 0;
  state.commit = async (machine, ...rest) => {
    if (machine === 'm-busy') {
      busyAttempts++;
      return false;
    }
    return commit(machine, ...rest);
  };
  engine = createAlertEngine({
    store: { listRules: async () => [], getRule: async (id) => (id === rule.id ? rule : undefined), listChannels: async () => [], record: async () => true },
    state,
    events: createMemoryEvents(log),
    machines: createMemoryState(),
    log,
    tickIntervalMs: 1000,
    claimIdleMs: 1000,
  });
  return { state, busyAttempts: () => busyAttempts };
}

describe('engine actions under compare-and-set conflicts', () => {
  test('a deleted rule: removed where possible, the machine that kept changing named in the error', async () => {
    const { state, busyAttempts } = await setup();
    await expect(engine!.ruleDeleted(rule)).rejects.toThrow(/rule "cpu" on m-busy could not be removed.*12 compare-and-set attempts/);
    expect(busyAttempts()).toBe(MAX_COMMIT_ATTEMPTS);
    expect((await state.active()).map((a) => a.machine)).toEqual(['m-busy']);
    expect((await state.load(['m-ok'])).get('m-ok')!.rules).toEqual({});
    expect(engine!.stats.conflicts).toBe(MAX_COMMIT_ATTEMPTS);
    expect(engine!.stats.commits).toBe(1);
  });

  test('acknowledging fails the same way, and works where nobody interferes', async () => {
    await setup();
    await expect(engine!.acknowledge('cpu', 'm-busy')).rejects.toThrow(/m-busy.*12 compare-and-set attempts/);
    expect(await engine!.acknowledge('cpu', 'm-ok')).toMatchObject({ machine: 'm-ok', acknowledged: true });
  });
});
