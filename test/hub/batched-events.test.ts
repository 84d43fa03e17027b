// Report events published per batch: real Redis for the stream side (one pipeline of XADDs, in order,
// the same JSON a single publish writes), and the fallback bus's routing when part of a batch fails.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventBus, ReportEvent } from '../../hub/events/event-bus.ts';
import { createFallbackEvents } from '../../hub/events/fallback-events.ts';
import { createRedisEvents } from '../../hub/events/redis-events.ts';
import type { MachineRecord } from '../../hub/state/state-store.ts';

const log = pino({ level: 'silent' });
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sysmonstm-test:${randomUUID()}:`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const record = (id: string, seq: number): MachineRecord => ({
  id,
  hostname: id,
  displayName: id,
  labels: {},
  lastSeenMs: 1000 + seq,
  sampledAtMs: 900 + seq,
  lastSeq: seq,
  intervalMs: 1000,
  metrics: { cpu_percent: seq } as unknown as MachineRecord['metrics'],
});

describe('batched events', () => {
  it('Redis: publishMany appends every event in order, as publish() would', async () => {
    const bus = createRedisEvents(redis, () => new Redis(REDIS_URL), log, { prefix });
    const events: ReportEvent[] = [1, 2, 3].map((seq) => ({ record: record(`b-${seq}`, seq), receivedAtMs: 5000 + seq }));
    await bus.publish({ record: record('single', 9), receivedAtMs: 1 });
    await bus.publishMany(events);
    await bus.publishMany([]);
    const entries = await redis.xrange(bus.streamKey, '-', '+');
    const written = entries.map(([, fields]) => fields[1]);
    expect(written).toEqual([JSON.stringify({ record: record('single', 9), receivedAtMs: 1 }), ...events.map((e) => JSON.stringify(e))]);
    await bus.close();
  });

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
