// hub/events/fallback-events.ts, the batch path: the events of a batch the Redis bus did not take are
// delivered in this hub and the others are not; with Redis not ready the whole batch stays here.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { EventBus, ReportEvent } from '../../../hub/events/event-bus.ts';
import { createFallbackEvents } from '../../../hub/events/fallback-events.ts';
import { record } from './report-events.ts';

const log = pino({ level: 'silent' });

describe('fallback events, batched', () => {
  it('fallback: the events of a batch Redis did not take are delivered in this hub, the others are not', async () => {
    const onRedis: ReportEvent[] = [];
    const fakeRedisBus: EventBus & { publishEach(events: readonly ReportEvent[]): Promise<Array<Error | null>> } = {
      kind: 'redis',
      publish: async (e) => void onRedis.push(e),
      async publishEach(events) {
        // The second event of each batch fails (a command refused mid-pipeline).
        return events.map((e, i) => (i === 1 ? new Error('OOM command not allowed') : (onRedis.push(e), null)));
      },
      subscribe: () => () => {},
      consume: () => async () => {},
      close: async () => {},
    };
    const status = { status: 'ready' as string };
    const bus = createFallbackEvents(fakeRedisBus, status as never, log);
    const local: number[] = [];
    bus.subscribe((e) => void local.push(e.record.lastSeq));
    const batch = [1, 2, 3].map((seq) => ({ record: record(`f-${seq}`, seq), receivedAtMs: seq }));
    await bus.publishMany!(batch);
    expect(onRedis.map((e) => e.record.lastSeq)).toEqual([1, 3]);
    expect(local).toEqual([2]);
    expect(bus.stats()).toEqual({ publishedToRedis: 2, deliveredLocally: 1 });

    // Redis not ready: the whole batch stays in this hub.
    status.status = 'reconnecting';
    await bus.publishMany!([4, 5].map((seq) => ({ record: record(`f-${seq}`, seq), receivedAtMs: seq })));
    expect(local).toEqual([2, 4, 5]);
    expect(bus.stats()).toEqual({ publishedToRedis: 2, deliveredLocally: 3 });
    await bus.close();
  });
});
