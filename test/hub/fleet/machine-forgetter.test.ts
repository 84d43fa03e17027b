// The FORGET_OFFLINE_AFTER decision: who is stale, oldest first, bounded per sweep, 0 = never; and a
// forget that races an offline tick leaves no alert behind.
import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createMachineForgetter, staleMachines } from '../../../hub/fleet/machine-forgetter.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';

describe('staleMachines', () => {
  const records = [
    { id: 'fresh', lastSeenMs: 9_500 },
    { id: 'old', lastSeenMs: 1_000 },
    { id: 'older', lastSeenMs: 500 },
    { id: 'edge', lastSeenMs: 5_000 },
  ];
  test('machines last seen longer ago than the limit, oldest first', () => {
    expect(staleMachines(records, 10_000, 5_000, 100)).toEqual(['older', 'old']);
  });
  test('at most `limit` per sweep', () => {
    expect(staleMachines(records, 10_000, 1, 2)).toEqual(['older', 'old']);
  });
  test('0 means never', () => {
    expect(staleMachines(records, 1e12, 0, 100)).toEqual([]);
  });
});

describe('forget', () => {
  test('an offline alert fired between the alert clear and the state removal is cleared too', async () => {
    const state = createMemoryState();
    await state.put({ id: 'gone-1', hostname: 'gone-1', displayName: 'gone-1', labels: {}, lastSeenMs: 1, sampledAtMs: 1, lastSeq: 1, intervalMs: 1000, metrics: {} as never }, new Uint8Array());
    const active = new Set<string>(['gone-1']);
    // The alert side: what an offline tick that read the machine before it left state does meanwhile.
    const alerts = {
      async machineForgotten(machine: string) {
        const had = active.delete(machine) ? 1 : 0;
        return had;
      },
    };
    const forgetState = state.forget.bind(state);
    state.forget = async (id: string) => {
      active.add(id); // the tick fired again after the first clear
      return forgetState(id);
    };
    const forgetter = createMachineForgetter({ state, events: createMemoryEvents(pino({ level: 'silent' })), alerts, log: pino({ level: 'silent' }), forgetOfflineAfterMs: 0 });
    expect(await forgetter.forget('gone-1', 'test')).toBe(true);
    expect(await state.get('gone-1')).toBeUndefined();
    expect(active.has('gone-1')).toBe(false);
  });
});
