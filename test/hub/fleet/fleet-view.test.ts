// hub/fleet/fleet-view.ts: the hub's live picture of the fleet, on the real memory state and memory
// event bus, with the clock injected: it starts from current state, follows report events (an older
// record does not overwrite a newer one), turns a silent machine offline in its sweep (and back when it
// reports), drops a forgotten machine and tells onRemoved, takes its colour from a status source and
// re-evaluates when that source says so, and one failing listener does not starve the others.
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createFleetView, type FleetView, type MachineStatusSource } from '../../../hub/fleet/fleet-view.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';
import type { MachineRecord } from '../../../hub/state/state-store.ts';
import { summarize } from '../../../proto/metrics.ts';
import type { MachineStatus } from '../../../proto/status.ts';
import type { MachineView } from '../../../proto/delta.ts';
import { syntheticReport } from '../../support/synthetic-collector.ts';
import { waitFor } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
const T0 = 1_800_000_000_000;

function record(id: string, seq: number, lastSeenMs: number, cpu = 20): MachineRecord {
  return { id, hostname: `${id}.lan`, displayName: id.toUpperCase(), labels: { rack: 'a' }, lastSeenMs, sampledAtMs: lastSeenMs, lastSeq: seq, intervalMs: 1000, metrics: summarize(syntheticReport(id, seq, lastSeenMs, cpu)) };
}

const views: FleetView[] = [];
afterEach(() => {
  for (const v of views.splice(0)) v.close();
});

async function setup(options: { status?: MachineStatusSource; preload?: MachineRecord[] } = {}) {
  const state = createMemoryState();
  for (const r of options.preload ?? []) await state.put(r, new Uint8Array());
  const events = createMemoryEvents(log);
  let nowMs = T0;
  const view = await createFleetView({ state, events, log, status: options.status, sweepIntervalMs: 10, now: () => nowMs });
  views.push(view);
  const changes: MachineView[] = [];
  const removed: string[] = [];
  view.onChange((v) => changes.push(v), (id) => removed.push(id));
  return { view, events, changes, removed, setNow: (t: number) => (nowMs = t) };
}

describe('the hub fleet view', () => {
  test('starts from current state and follows report events', async () => {
    const { view, events, changes } = await setup({ preload: [record('fv-a', 3, T0)] });
    expect([...view.current()].map((m) => m.id)).toEqual(['fv-a']);
    expect(view.get('fv-a')).toMatchObject({ id: 'fv-a', name: 'FV-A', host: 'fv-a.lan', status: 'healthy', labels: { rack: 'a' }, intervalMs: 1000, lastSeen: T0 });
    expect(view.get('fv-a')!.values.cpu_percent).toBe(20);

    await events.publish({ record: record('fv-a', 4, T0 + 1000, 55), receivedAtMs: T0 + 1000 });
    await events.publish({ record: record('fv-b', 1, T0 + 1000), receivedAtMs: T0 + 1000 });
    expect(changes.map((c) => [c.id, c.values.cpu_percent])).toEqual([['fv-a', 55], ['fv-b', 20]]);
    expect(view.get('fv-a')!.lastSeen).toBe(T0 + 1000);
    expect([...view.records()].map((r) => r.lastSeq).sort()).toEqual([1, 4]);

    // An event replayed late (lower seq, not newer): the newer record stays.
    await events.publish({ record: record('fv-a', 2, T0 + 500, 99), receivedAtMs: T0 + 1200 });
    expect(view.get('fv-a')!.values.cpu_percent).toBe(55);
    expect(changes).toHaveLength(2);
    // A restarted collector (seq back at 1) seen later is taken.
    await events.publish({ record: record('fv-a', 1, T0 + 2000, 33), receivedAtMs: T0 + 2000 });
    expect(view.get('fv-a')!.values.cpu_percent).toBe(33);
  });

  test('the sweep turns a silent machine offline, and a report brings it back', async () => {
    const { view, events, changes, setNow } = await setup({ preload: [record('fv-quiet', 1, T0)] });
    setNow(T0 + 5_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(view.get('fv-quiet')!.status).not.toBe('offline');
    setNow(T0 + 11_000); // offline after max(10 s, 5 intervals)
    await waitFor('offline', () => view.get('fv-quiet')!.status === 'offline', 2000, 10);
    expect(changes.filter((c) => c.status === 'offline')).toHaveLength(1); // once, not at every sweep
    await new Promise((r) => setTimeout(r, 50));
    expect(changes.filter((c) => c.status === 'offline')).toHaveLength(1);
    await events.publish({ record: record('fv-quiet', 2, T0 + 11_000), receivedAtMs: T0 + 11_000 });
    expect(view.get('fv-quiet')!.status).toBe('healthy');
  });

  test('a forgotten machine is dropped and reported once; an unknown one is not', async () => {
    const { view, events, removed } = await setup({ preload: [record('fv-gone', 1, T0), record('fv-stays', 1, T0)] });
    await events.publish({ record: record('fv-gone', 1, T0), receivedAtMs: T0, forgotten: true });
    await events.publish({ record: record('fv-never', 1, T0), receivedAtMs: T0, forgotten: true });
    expect(removed).toEqual(['fv-gone']);
    expect(view.get('fv-gone')).toBeUndefined();
    expect([...view.records()].map((r) => r.id)).toEqual(['fv-stays']);
  });

  test('the status source decides the colour and its change signal re-evaluates', async () => {
    let colour: MachineStatus = 'healthy';
    const signals = new Set<(id: string | null) => void>();
    const status: MachineStatusSource = {
      statusOf: () => colour,
      onStatusChange(listener) {
        signals.add(listener);
        return () => signals.delete(listener);
      },
    };
    const { view, changes } = await setup({ status, preload: [record('fv-s1', 1, T0), record('fv-s2', 1, T0)] });
    expect(view.get('fv-s1')!.status).toBe('healthy');
    colour = 'critical';
    for (const s of signals) s('fv-s1');
    expect(view.get('fv-s1')!.status).toBe('critical');
    expect(view.get('fv-s2')!.status).toBe('healthy');
    for (const s of signals) s(null);
    expect(view.get('fv-s2')!.status).toBe('critical');
    expect(changes.map((c) => `${c.id}:${c.status}`)).toEqual(['fv-s1:critical', 'fv-s2:critical']);
    view.close();
    expect(signals.size).toBe(0);
  });

  test('a failing listener does not starve the others; unsubscribing stops the calls', async () => {
    const { view, events, changes } = await setup();
    const unsubscribe = view.onChange(() => {
      throw new Error('listener bug');
    });
    await events.publish({ record: record('fv-l', 1, T0), receivedAtMs: T0 });
    expect(changes).toHaveLength(1);
    unsubscribe();
    const seen: string[] = [];
    const stop = view.onChange((v) => seen.push(v.id));
    await events.publish({ record: record('fv-l', 2, T0 + 1), receivedAtMs: T0 + 1 });
    stop();
    await events.publish({ record: record('fv-l', 3, T0 + 2), receivedAtMs: T0 + 2 });
    expect(seen).toEqual(['fv-l']);
    expect(changes).toHaveLength(3);
  });
});
