// Report events published per batch on Redis (127.0.0.1:6379, a key prefix of its own): one pipeline
// of XADDs, in order, the same JSON a single publish writes; an idle consumer group member
// acknowledges batches without handling them (and the memory bus's idle member does the same).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReportEvent } from '../../../hub/events/event-bus.ts';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createRedisEvents, GROUP_GATHER_MS, PUBLISH_CHUNK, TAIL_GATHER_MS } from '../../../hub/events/redis-events.ts';
import { record } from './report-events.ts';

const log = pino({ level: 'silent' });
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sysmonstm-test:${randomUUID()}:`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('redis events, batched', () => {
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

  it(`a batch larger than PUBLISH_CHUNK (${PUBLISH_CHUNK}) goes out whole and in order, one script call per chunk`, async () => {
    const bus = createRedisEvents(redis, () => new Redis(REDIS_URL), log, { prefix: `${prefix}chunks:` });
    const events: ReportEvent[] = Array.from({ length: 2 * PUBLISH_CHUNK + 7 }, (_, i) => ({ record: record(`c-${i % 5}`, i + 1), receivedAtMs: i }));
    expect(await bus.publishEach(events)).toEqual(events.map(() => null));
    const entries = await redis.xrange(bus.streamKey, '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual(events.map((e) => ['e', JSON.stringify(e)]));
    await bus.close();
    // Redis refusing the calls: every event says why (the caller delivers them itself, fallback-events.ts)
    const broken = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const refused = createRedisEvents(broken, () => new Redis(REDIS_URL), log, { prefix: `${prefix}refused:` });
    const results = await refused.publishEach(events.slice(0, PUBLISH_CHUNK + 1));
    expect(results).toHaveLength(PUBLISH_CHUNK + 1);
    expect(results.every((r) => r instanceof Error)).toBe(true);
    await refused.close();
    broken.disconnect();
  });

  it('a consumer group member that is idle acknowledges batches without handling them, then handles again', async () => {
    const bus = createRedisEvents(redis, () => new Redis(REDIS_URL), log, { prefix: `${prefix}idle:` });
    let idle = true;
    const handled: number[] = [];
    const stop = bus.consume('g', async (events) => void handled.push(...events.map((e) => e.record.lastSeq)), { idle: () => idle });
    await new Promise((r) => setTimeout(r, 200)); // the group exists once the reader started
    await bus.publishMany([1, 2].map((seq) => ({ record: record('i', seq), receivedAtMs: seq })));
    const until = async (ok: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    const pendingNone = async () => ((await redis.xpending(bus.streamKey, 'g')) as [number])[0] === 0;
    const lastDelivered = async () => {
      const [group] = (await redis.xinfo('GROUPS', bus.streamKey)) as unknown[][];
      return String(group[group.indexOf('last-delivered-id') + 1]);
    };
    const [[lastId]] = await redis.xrevrange(bus.streamKey, '+', '-', 'COUNT', 1);
    await until(async () => (await lastDelivered()) === lastId && (await pendingNone()));
    expect(await lastDelivered()).toBe(lastId);
    expect(await pendingNone()).toBe(true);
    expect(handled).toEqual([]);
    idle = false;
    await bus.publishMany([{ record: record('i', 3), receivedAtMs: 3 }]);
    await until(async () => handled.length > 0);
    expect(handled).toEqual([3]);
    await stop();
    await bus.close();

    const memory = createMemoryEvents(log);
    const seen: number[] = [];
    let memIdle = true;
    memory.consume('g', async (events) => void seen.push(...events.map((e) => e.record.lastSeq)), { idle: () => memIdle });
    await memory.publish({ record: record('m', 1), receivedAtMs: 1 });
    await new Promise((r) => setTimeout(r, 10));
    memIdle = false;
    await memory.publish({ record: record('m', 2), receivedAtMs: 2 });
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([2]);
    await memory.close();
  });

  it('a trickle of publishes is read in gathered batches: the tail and the group read at most once per gather time', async () => {
    // The blocking connections are real; each counts the reads it is asked for.
    const reads = { xread: 0, xreadgroup: 0 };
    const openBlocking = () => {
      const conn = new Redis(REDIS_URL);
      for (const name of ['xread', 'xreadgroup'] as const) {
        const original = conn[name].bind(conn) as (...args: unknown[]) => Promise<unknown>;
        (conn as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
          reads[name]++;
          return original(...args);
        };
      }
      return conn;
    };
    const bus = createRedisEvents(redis, openBlocking, log, { prefix: `${prefix}gather:` });
    const tailed: number[] = [];
    const grouped: number[] = [];
    const unsubscribe = bus.subscribe((e) => void tailed.push(e.record.lastSeq));
    const stop = bus.consume('g', async (events) => void grouped.push(...events.map((e) => e.record.lastSeq)));
    await new Promise((r) => setTimeout(r, 300)); // the tail and the group are reading
    const before = { ...reads };
    const started = performance.now();
    const COUNT = 100;
    for (let seq = 1; seq <= COUNT; seq++) {
      await bus.publish({ record: record('t', seq), receivedAtMs: seq });
      await new Promise((r) => setTimeout(r, 4));
    }
    const want = Array.from({ length: COUNT }, (_, i) => i + 1);
    for (let i = 0; i < 100 && (tailed.length < COUNT || grouped.length < COUNT); i++) await new Promise((r) => setTimeout(r, 50));
    const elapsed = performance.now() - started;
    expect(tailed).toEqual(want);
    expect(grouped).toEqual(want);
    // one read per publish (~100) without gathering; with it, one per gather time (+ the one blocked at the start)
    expect(reads.xread - before.xread).toBeLessThanOrEqual(Math.ceil(elapsed / TAIL_GATHER_MS) + 2);
    expect(reads.xreadgroup - before.xreadgroup).toBeLessThanOrEqual(Math.ceil(elapsed / GROUP_GATHER_MS) + 2);
    expect(reads.xread - before.xread).toBeLessThan(COUNT / 2);
    unsubscribe();
    await stop();
    await bus.close();
  });

  it('closing does not wait for a gather pause: a group reader stops at once after a read', async () => {
    const bus = createRedisEvents(redis, () => new Redis(REDIS_URL), log, { prefix: `${prefix}close:` });
    const grouped: number[] = [];
    const stop = bus.consume('g', async (events) => void grouped.push(...events.map((e) => e.record.lastSeq)));
    await new Promise((r) => setTimeout(r, 300));
    await bus.publish({ record: record('c', 1), receivedAtMs: 1 });
    for (let i = 0; i < 100 && grouped.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(grouped).toEqual([1]);
    await new Promise((r) => setTimeout(r, 20)); // acknowledged; the reader is in its 100 ms gather pause
    const started = performance.now();
    await stop();
    expect(performance.now() - started).toBeLessThan(GROUP_GATHER_MS / 2);
    await bus.close();
  });
});
