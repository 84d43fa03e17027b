// Offline detection without a scan: 1,000 machines in the state store, an offline rule over all of
// them, and the tick reads and evaluates only the machines whose silence crossed the threshold (plus
// those whose offline alert is active, for reminders and recovery) — never the list of the fleet.
// In process: the memory state store, rule state store and event bus, a clock the test moves.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AlertEngine } from '../../../hub/alerts/alert-engine.ts';
import { createAlertEngine } from '../../../hub/alerts/alert-engine.ts';
import type { AlertRule } from '../../../hub/alerts/alert-rule.ts';
import type { RecordInput, StoredRule } from '../../../hub/alerts/alert-store.ts';
import { createMemoryRuleState } from '../../../hub/alerts/memory-rule-state.ts';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';
import type { MachineRecord, StateStore } from '../../../hub/state/state-store.ts';
import { waitFor } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
const T0 = 1_800_000_000_000;
const MACHINES = 1000;

const offlineRule: StoredRule = {
  id: 'silent',
  name: 'Silent',
  metric: 'offline',
  op: '>',
  threshold: 60,
  clear_threshold: 60,
  for_s: 0,
  severity: 'critical',
  scope: {},
  channels: [],
  repeat_s: 0,
  mount: null,
  created_at: 0,
  updated_at: 0,
} as StoredRule;

const id = (i: number) => `fleet-${String(i).padStart(4, '0')}`;
const record = (i: number, lastSeenMs: number): MachineRecord => ({
  id: id(i),
  hostname: id(i),
  displayName: id(i),
  labels: {},
  lastSeenMs,
  sampledAtMs: lastSeenMs,
  lastSeq: 1,
  intervalMs: 1000,
  metrics: { cpu_percent: 5 } as MachineRecord['metrics'],
});

describe('the offline tick with 1,000 machines', () => {
  let clock = T0;
  const machines = createMemoryState();
  const reads = { list: 0, get: [] as string[] };
  const counted: Pick<StateStore, 'list' | 'get' | 'latestReport'> = {
    list: async () => {
      reads.list++;
      return machines.list();
    },
    get: async (m) => {
      reads.get.push(m);
      return machines.get(m);
    },
    latestReport: (m) => machines.latestReport(m),
  };
  const ruleStates = createMemoryRuleState(log);
  const loaded: string[] = [];
  const load = ruleStates.load.bind(ruleStates);
  ruleStates.load = async (ids) => {
    loaded.push(...ids);
    return load(ids);
  };
  const events = createMemoryEvents(log);
  const recorded: RecordInput[] = [];
  let engine: AlertEngine;
  const reset = () => {
    reads.list = 0;
    reads.get.length = 0;
    loaded.length = 0;
  };
  /** Waits for `n` more ticks to have finished (a tick that evaluates machines also commits and records). */
  const ticks = async (n: number) => {
    const target = engine.stats.ticks + n + 1;
    await waitFor(`${n} ticks`, () => engine.stats.ticks >= target, 10_000, 5);
  };

  beforeAll(async () => {
    // 0–9 silent for 2 minutes, 10–19 for 50 s, the rest reported just now.
    for (let i = 0; i < MACHINES; i++) await machines.put(record(i, i < 10 ? T0 - 120_000 : i < 20 ? T0 - 50_000 : T0), new Uint8Array([1]));
    engine = createAlertEngine({
      store: {
        listRules: async () => [offlineRule],
        getRule: async (rid: string) => (rid === offlineRule.id ? offlineRule : undefined),
        listChannels: async () => [],
        record: async (input: RecordInput) => {
          recorded.push(input);
          return true;
        },
      },
      state: ruleStates,
      events,
      machines: counted,
      log,
      tickIntervalMs: 20,
      claimIdleMs: 1000,
      refreshIntervalMs: 20,
      now: () => clock,
    });
    await engine.start();
  });
  afterAll(async () => {
    await engine?.close();
    await events.close();
  });

  test('seeded once from the state store at start', () => {
    expect(reads.list).toBe(1);
  });

  test('a tick reads and evaluates only the 10 machines past the threshold, and they fire', async () => {
    reset();
    await waitFor('10 offline alerts recorded', () => recorded.filter((r) => r.state === 'firing').length === 10, 10_000, 5);
    expect(reads.list).toBe(0);
    const silent = Array.from({ length: 10 }, (_, i) => id(i));
    expect([...new Set(reads.get)].sort()).toEqual(silent);
    expect([...new Set(loaded)].sort()).toEqual(silent);
    expect(recorded.map((r) => r.machine).sort()).toEqual(silent);
    expect(engine.stats.tickMachines).toBeLessThanOrEqual(10 * engine.stats.ticks);
  });

  test('later ticks follow only the machines with an active offline alert until others come due', async () => {
    await waitFor('the active view has the 10 alerts', async () => (await engine.activeAlerts()).length === 10, 5000, 5);
    await ticks(1);
    reset();
    await ticks(3);
    expect(reads.list).toBe(0);
    expect(new Set(reads.get).size).toBe(10);
    expect([...new Set(reads.get)].every((m) => Number(m.slice(6)) < 10)).toBe(true);

    // 20 s later machines 10–19 are silent for 70 s: due now, the 980 others still not.
    clock = T0 + 20_000;
    await waitFor('20 offline alerts', () => recorded.filter((r) => r.state === 'firing').length === 20, 10_000, 5);
    reset();
    await ticks(3);
    expect(reads.list).toBe(0);
    expect(new Set(reads.get).size).toBe(20);
  });

  test('a report brings a machine back (resolved) and takes it off the tick', async () => {
    clock = T0 + 21_000;
    const back = record(3, clock);
    await machines.put(back, new Uint8Array([1]));
    await events.publish({ record: back, receivedAtMs: clock });
    await waitFor('resolved', () => recorded.some((r) => r.machine === id(3) && r.state === 'resolved'), 10_000, 5);
    await waitFor('the active view lost it', async () => (await engine.activeAlerts()).length === 19, 5000, 5);
    await ticks(2);
    reset();
    await ticks(3);
    expect(new Set(reads.get).size).toBe(19);
    expect(reads.get).not.toContain(id(3));
  });

  test('when the rest of the fleet falls silent it is due once; the machine that came back fires again after its own silence', async () => {
    reset();
    clock = T0 + 61_000;
    const firing = () => recorded.filter((r) => r.state === 'firing');
    // The 980 that reported at T0, on top of the 20 before (fleet-0003, back at T0 + 21 s, is not silent).
    await waitFor('the rest of the fleet offline', () => firing().length === MACHINES, 20_000, 10);
    expect((await engine.activeAlerts()).length).toBe(MACHINES - 1);
    expect(reads.get).not.toContain(id(3));
    clock = T0 + 81_000;
    await ticks(2);
    expect(firing().filter((r) => r.machine === id(3))).toHaveLength(1);
    clock = T0 + 81_001;
    await waitFor('fleet-0003 offline again', () => firing().filter((r) => r.machine === id(3)).length === 2, 10_000, 5);
    expect(reads.list).toBe(0);
  });
});
