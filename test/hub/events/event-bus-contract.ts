// The EventBus contract (hub/events/event-bus.ts), one suite run against every implementation
// (event-bus.test.ts): subscribers see every event published after they subscribed, in order, until
// they unsubscribe; a consumer group gets every event once, in publish order, in batches; an idle
// member acknowledges without handling; a failed batch is handed out again (where the bus keeps events:
// Redis) or dropped and logged (memory); a second member of the group shares the events (Redis).
import { describe, expect, test } from 'vitest';
import type { EventBus, ReportEvent } from '../../../hub/events/event-bus.ts';
import { waitFor } from '../../support/servers.ts';
import { record } from './report-events.ts';

export interface EventBusHarness {
  /** A fresh bus with its own key space. */
  make(): Promise<EventBus>;
  kind: EventBus['kind'];
  /** Redis: a failed batch is claimed again after `claimIdleMs`. Memory: it is dropped (and logged). */
  redelivers: boolean;
  /** A second bus on the same backend and key space as `bus` (another hub), where there can be one. */
  peer?(bus: EventBus): Promise<EventBus>;
}

const event = (id: string, seq: number): ReportEvent => ({ record: record(id, seq), receivedAtMs: 5000 + seq });
const PROBE = 'probe';
const seqs = (events: readonly ReportEvent[], id = 'm') => events.filter((e) => e.record.id === id).map((e) => e.record.lastSeq);

/**
 * Publishes probe events until `seen` says one arrived: a Redis reader starts reading a moment after
 * subscribe() or consume() returns ("from now on" is when it got there).
 */
async function untilListening(bus: EventBus, seen: () => boolean): Promise<void> {
  let n = 0;
  await waitFor('the bus delivering', async () => {
    if (seen()) return true;
    await bus.publish(event(PROBE, ++n));
    return false;
  }, 10_000, 50);
}

export function describeEventBusContract(name: string, harness: EventBusHarness): void {
  describe(`EventBus contract: ${name}`, () => {
    const withBus = (fn: (bus: EventBus) => Promise<void>) => async () => {
      const bus = await harness.make();
      try {
        await fn(bus);
      } finally {
        await bus.close();
      }
    };

    test('says what it is', withBus(async (bus) => {
      expect(bus.kind).toBe(harness.kind);
    }));

    test('a subscriber sees every event published from then on, in order (publish and publishMany), until it unsubscribes', withBus(async (bus) => {
      const got: ReportEvent[] = [];
      const off = bus.subscribe((e) => void got.push(e));
      await untilListening(bus, () => got.length > 0);
      await bus.publish(event('m', 1));
      await bus.publishMany?.([event('m', 2), event('m', 3)]);
      if (!bus.publishMany) for (const s of [2, 3]) await bus.publish(event('m', s));
      await bus.publish({ ...event('m', 4), forgotten: true });
      await waitFor('four events', () => seqs(got).length >= 4, 10_000, 20);
      expect(seqs(got)).toEqual([1, 2, 3, 4]);
      const last = got.filter((e) => e.record.id === 'm').at(-1)!;
      expect(last).toEqual({ ...event('m', 4), forgotten: true });
      off();
      await bus.publish(event('m', 5));
      await new Promise((r) => setTimeout(r, 300));
      expect(seqs(got)).toEqual([1, 2, 3, 4]);
    }));

    test('a failing subscriber does not keep the others from their events', withBus(async (bus) => {
      const got: ReportEvent[] = [];
      bus.subscribe(() => {
        throw new Error('broken subscriber');
      });
      bus.subscribe((e) => void got.push(e));
      await untilListening(bus, () => got.length > 0);
      await bus.publish(event('m', 1));
      await bus.publish(event('m', 2));
      await waitFor('both', () => seqs(got).length === 2, 10_000, 20);
    }));

    test('a consumer group gets every event once, in publish order, in batches; stopping ends it', withBus(async (bus) => {
      const batches: ReportEvent[][] = [];
      const stop = bus.consume('contract', async (events) => void batches.push(events));
      const all = () => batches.flat();
      await untilListening(bus, () => all().length > 0);
      for (let s = 1; s <= 5; s++) await bus.publish(event('m', s));
      await bus.publishMany?.(Array.from({ length: 20 }, (_, i) => event('m', 6 + i)));
      if (!bus.publishMany) for (let s = 6; s <= 25; s++) await bus.publish(event('m', s));
      await waitFor('25 events', () => seqs(all()).length >= 25, 10_000, 20);
      await new Promise((r) => setTimeout(r, 300));
      expect(seqs(all())).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(batches.every((b) => b.length > 0)).toBe(true);
      await stop();
      await bus.publish(event('m', 26));
      await new Promise((r) => setTimeout(r, 300));
      expect(seqs(all())).not.toContain(26);
    }));

    test('an idle member acknowledges without handling: the events do not come back when it is busy again', withBus(async (bus) => {
      let idle = false;
      const handled: ReportEvent[] = [];
      bus.consume('idle', async (events) => void handled.push(...events), { idle: () => idle, claimIdleMs: 300 });
      await untilListening(bus, () => handled.length > 0);
      idle = true;
      await bus.publish(event('m', 1));
      await new Promise((r) => setTimeout(r, 500));
      idle = false;
      await bus.publish(event('m', 2));
      await waitFor('the second event', () => seqs(handled).includes(2), 10_000, 20);
      await new Promise((r) => setTimeout(r, 800));
      expect(seqs(handled)).toEqual([2]);
    }));

    test(harness.redelivers ? 'a failed batch is handed out again, and once more is enough' : 'a failed batch is dropped (and logged), the next ones still arrive', withBus(async (bus) => {
      const attempts: number[][] = [];
      let failures = 1;
      let ready = false;
      bus.consume('retry', async (events) => {
        if (!ready) {
          if (events.some((e) => e.record.id === PROBE)) ready = true;
          return;
        }
        attempts.push(seqs(events));
        if (seqs(events).length && failures-- > 0) throw new Error('handler failed');
      }, { claimIdleMs: 300 });
      await untilListening(bus, () => ready);
      await bus.publish(event('m', 1));
      await waitFor('the first attempt', () => attempts.length >= 1, 10_000, 20);
      if (harness.redelivers) {
        await waitFor('handed out again', () => attempts.flat().filter((s) => s === 1).length >= 2, 10_000, 20);
        await new Promise((r) => setTimeout(r, 800));
        expect(attempts.flat().filter((s) => s === 1)).toHaveLength(2);
      } else {
        await bus.publish(event('m', 2));
        await waitFor('the next event', () => attempts.flat().includes(2), 10_000, 20);
        expect(attempts.flat()).toEqual([1, 2]);
      }
    }), 20_000);

    test.runIf(harness.peer !== undefined)('two members of one group (two hubs) share the events: each goes to one of them', withBus(async (bus) => {
      const other = await harness.peer!(bus);
      try {
        const a: ReportEvent[] = [];
        const b: ReportEvent[] = [];
        bus.consume('shared', async (events) => void a.push(...events));
        other.consume('shared', async (events) => void b.push(...events));
        await untilListening(bus, () => a.length + b.length > 0);
        await new Promise((r) => setTimeout(r, 300)); // both members reading
        for (let s = 1; s <= 40; s++) await (s % 2 ? bus : other).publish(event('m', s));
        await waitFor('40 events', () => seqs(a).length + seqs(b).length >= 40, 10_000, 20);
        await new Promise((r) => setTimeout(r, 300));
        expect([...seqs(a), ...seqs(b)].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        // Per member, still in publish order.
        for (const got of [seqs(a), seqs(b)]) expect(got).toEqual([...got].sort((x, y) => x - y));
      } finally {
        await other.close();
      }
    }));
  });
}
