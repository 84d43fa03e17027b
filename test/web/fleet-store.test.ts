import { describe, expect, it } from 'vitest';
import { createFleetEncoder, decodeFleetMessage, diffMachine, FleetResyncError, type MachineView } from '../../proto/delta.ts';
import { createFleetStore } from '../../web/src/fleet-store.ts';

const a: MachineView = { id: 'a', name: 'A', host: 'a.lan', status: 'healthy', labels: {}, intervalMs: 1000, lastSeen: 1000, values: { cpu_percent: 10 } };
const b: MachineView = { ...a, id: 'b', name: 'B', host: 'b.lan' };

describe('createFleetStore', () => {
  it('forget drops a machine at once; the delta that removes it later changes nothing; it can come back', () => {
    const store = createFleetStore();
    const wire = createFleetEncoder();
    const changes: Array<{ all: boolean; ids: string[] }> = [];
    store.apply(decodeFleetMessage(wire.restart([a, b], 1000)), 1000);
    store.subscribe((c) => changes.push(c));
    store.forget('b');
    expect([...store.machines.keys()]).toEqual(['a']);
    expect(store.spark('b')).toBeUndefined();
    expect(changes).toEqual([{ all: false, ids: ['b'] }]);
    store.forget('nobody');
    expect(changes).toHaveLength(1);
    expect(store.apply(decodeFleetMessage(wire.delta([], ['b'], 1100)), 1100).ids).toEqual([]);
    store.apply(decodeFleetMessage(wire.delta([diffMachine(undefined, { ...b, lastSeen: 1200 }, 1200)!], [], 1200)), 1200);
    expect(store.machines.get('b')?.lastSeen).toBe(1200);
  });

  it('merges a snapshot and deltas encoded by the hub, with sparkline points per new report only', () => {
    const store = createFleetStore();
    const wire = createFleetEncoder();
    const changes: Array<{ all: boolean; ids: string[] }> = [];
    store.subscribe((c) => changes.push(c));
    expect(store.ready).toBe(false);

    store.apply(decodeFleetMessage(wire.restart([a, b], 1500)), 1000);
    expect(store.ready).toBe(true);
    expect(store.serverNow(2000)).toBe(2500); // server clock is 500 ms ahead
    expect([...store.machines.keys()]).toEqual(['a', 'b']);

    const a2: MachineView = { ...a, lastSeen: 2000, values: { cpu_percent: 55, memory_percent: 40 } };
    const offlineB: MachineView = { ...b, status: 'offline' }; // status change without a new report
    const delta = wire.delta([diffMachine(a, a2, 2100)!, diffMachine(b, offlineB, 2100)!], [], 2100);
    store.apply(decodeFleetMessage(delta), 2100);
    expect(store.machines.get('a')).toEqual(a2);
    expect(store.machines.get('b')!.status).toBe('offline');
    expect(store.spark('a')!.columns()).toEqual([[1, 2], [10, 55]]);
    expect(store.spark('b')!.columns()).toEqual([[1], [10]]);

    store.seedSpark('a', [{ tMs: 500, cpu: 7 }, { tMs: 2000, cpu: 99 }]);
    expect(store.spark('a')!.columns()).toEqual([[0.5, 1, 2], [7, 10, 55]]);

    store.apply(decodeFleetMessage(wire.delta([], ['b'], 2200)), 2200);
    expect(store.machines.has('b')).toBe(false);
    expect(store.spark('b')).toBeUndefined();

    // A fresh snapshot (reconnect) replaces everything and forgets machines that are gone.
    // A frame with machine numbers the store never learned is refused and changes nothing.
    expect(() => store.apply(decodeFleetMessage('{"t":"d","ts":2300,"u":[[9,0,0,1]]}'), 2300)).toThrow(FleetResyncError);
    expect([...store.machines.keys()]).toEqual(['a']);

    store.apply(decodeFleetMessage(wire.restart([b], 3000)), 3000);
    expect([...store.machines.keys()]).toEqual(['b']);
    expect(store.spark('a')).toBeUndefined();

    expect(changes).toEqual([
      { all: true, ids: ['a', 'b'] },
      { all: false, ids: ['a', 'b'] },
      { all: false, ids: ['b'] },
      { all: true, ids: ['b'] },
    ]);
  });
});

describe('freshness time on a relay that merges pushes', () => {
  it('judges staleness at the last frame while frames may be up to the allowed gap apart, never further back', () => {
    const store = createFleetStore();
    const enc = createFleetEncoder();
    const local = 5_000_000;
    store.apply(decodeFleetMessage(enc.restart([], 1_000_000)), local);
    expect(store.freshnessNow(local + 6_000)).toBe(1_006_000); // no gap allowed: now on the server clock
    store.allowFrameGap(10_000);
    expect(store.freshnessNow(local + 6_000)).toBe(1_000_000); // the last frame's time
    expect(store.freshnessNow(local + 25_000)).toBe(1_015_000); // at most 10 s behind now
    expect(store.serverNow(local + 6_000)).toBe(1_006_000);
  });
});
