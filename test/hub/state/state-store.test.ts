// One contract suite for both current-state stores: memory and real Redis (127.0.0.1:6379, own key prefix).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { createFallbackState } from '../../../hub/state/fallback-state.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';
import { createRedisState, PUT_MANY_CHUNK } from '../../../hub/state/redis-state.ts';
import type { MachineRecord, StateStore } from '../../../hub/state/state-store.ts';
import { METRIC_NAMES, type Metrics } from '../../../proto/metrics.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL, { lazyConnect: true });
const prefix = `sysmonstm-test:${randomUUID()}:`;

afterAll(async () => {
  if (redis.status === 'ready') {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});

function metrics(cpu: number): Metrics {
  const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, null])) as Metrics;
  m.cpu_percent = cpu;
  return m;
}

function record(id: string, seq: number, cpu: number): MachineRecord {
  return { id, hostname: `${id}.lan`, displayName: id.toUpperCase(), labels: { env: 'test' }, lastSeenMs: 1000 + seq, sampledAtMs: 900 + seq, lastSeq: seq, intervalMs: 1000, metrics: metrics(cpu) };
}

function contract(name: string, make: () => Promise<StateStore>) {
  describe(name, () => {
    test('put, get, list, count', async () => {
      const s = await make();
      expect(await s.get('a')).toBeUndefined();
      await s.put(record('a', 1, 10), new Uint8Array([1, 2, 3]));
      await s.put(record('b', 1, 20), new Uint8Array([4]));
      await s.put(record('a', 2, 30), new Uint8Array([5, 6]));
      expect(await s.get('a')).toEqual(record('a', 2, 30));
      expect((await s.list()).map((r) => r.id).sort()).toEqual(['a', 'b']);
      expect(await s.count()).toBe(2);
      expect(await s.latestReport('a')).toEqual(new Uint8Array([5, 6]));
      expect(await s.latestReport('zzz')).toBeUndefined();
      expect(await s.ping()).toBe(true);
    });

    test('putMany writes a batch of machines like one put each', async () => {
      const s = await make();
      // The report bytes may be a view into a larger buffer (what the protobuf encoder hands out).
      const big = new Uint8Array([9, 9, 7, 8, 9, 9]);
      await s.putMany!([
        { record: record('pm-a', 1, 10), report: big.subarray(2, 4) },
        { record: record('pm-b', 1, 20), report: new Uint8Array([4]) },
      ]);
      await s.putMany!([{ record: record('pm-a', 2, 30), report: new Uint8Array([5, 6]) }]);
      await s.putMany!([]);
      expect(await s.get('pm-a')).toEqual(record('pm-a', 2, 30));
      expect(await s.get('pm-b')).toEqual(record('pm-b', 1, 20));
      expect(await s.latestReport('pm-b')).toEqual(new Uint8Array([4]));
      expect(await s.latestReport('pm-a')).toEqual(new Uint8Array([5, 6]));
      expect((await s.recent('pm-a')).map((p) => p.metrics.cpu_percent)).toEqual([10, 30]);
    });

    test('putMany: a batch larger than one script call, a machine twice in it, the ring trimmed', async () => {
      const s = await make();
      const ids = Array.from({ length: 2 * PUT_MANY_CHUNK + 7 }, (_, i) => `pmb-${i}`);
      const items = ids.map((id, i) => ({ record: record(id, 1, i % 100), report: new Uint8Array([i % 256]) }));
      // pmb-0 again at the end of the batch, then six more points of it: the newest wins, the ring keeps five.
      items.push({ record: record('pmb-0', 2, 50), report: new Uint8Array([200]) });
      await s.putMany!(items);
      await s.putMany!([3, 4, 5, 6, 7, 8].map((seq) => ({ record: record('pmb-0', seq, seq), report: new Uint8Array([seq]) })));
      expect(await s.count()).toBeGreaterThanOrEqual(ids.length);
      const listed = new Set((await s.list()).map((r) => r.id));
      expect(ids.every((id) => listed.has(id))).toBe(true);
      expect(await s.get(ids.at(-1)!)).toEqual(record(ids.at(-1)!, 1, (ids.length - 1) % 100));
      expect(await s.latestReport(ids[PUT_MANY_CHUNK])).toEqual(new Uint8Array([PUT_MANY_CHUNK % 256]));
      expect(await s.get('pmb-0')).toEqual(record('pmb-0', 8, 8));
      expect(await s.latestReport('pmb-0')).toEqual(new Uint8Array([8]));
      expect((await s.recent('pmb-0')).map((p) => p.metrics.cpu_percent)).toEqual([4, 5, 6, 7, 8]);
    });

    test('recent ring keeps the newest points, oldest first', async () => {
      const s = await make();
      for (let seq = 1; seq <= 8; seq++) await s.put(record('r', seq, seq), new Uint8Array());
      const recent = await s.recent('r');
      expect(recent.map((p) => p.metrics.cpu_percent)).toEqual([4, 5, 6, 7, 8]);
      expect((await s.recent('r', 2)).map((p) => p.t)).toEqual([907, 908]);
      expect(await s.recent('nobody')).toEqual([]);
    });

    test('forget removes record, report and ring; false for an unknown machine', async () => {
      const s = await make();
      await s.put(record('f', 1, 10), new Uint8Array([1]));
      await s.put(record('g', 1, 20), new Uint8Array([2]));
      expect(await s.forget('f')).toBe(true);
      expect(await s.get('f')).toBeUndefined();
      expect(await s.latestReport('f')).toBeUndefined();
      expect(await s.recent('f')).toEqual([]);
      expect((await s.list()).map((r) => r.id)).toEqual(['g']);
      expect(await s.count()).toBe(1);
      expect(await s.forget('f')).toBe(false);
      expect(await s.forget('nobody')).toBe(false);
      // It comes back with its next report.
      await s.put(record('f', 2, 30), new Uint8Array([3]));
      expect((await s.get('f'))?.lastSeq).toBe(2);
    });
  });
}

contract('memory state', async () => createMemoryState(5));
let n = 0;
contract('redis state', async () => {
  if (redis.status !== 'ready') await redis.connect();
  return createRedisState(redis, { prefix: `${prefix}${n++}:`, ringSize: 5 });
});
contract('fallback state (Redis up)', async () => {
  if (redis.status !== 'ready') await redis.connect();
  return createFallbackState(createRedisState(redis, { prefix: `${prefix}${n++}:`, ringSize: 5 }), redis, { log: pino({ level: 'silent' }), ringSize: 5 });
});

test('fallback state: a machine forgotten while Redis is away is removed from Redis by the resync', async () => {
  if (redis.status !== 'ready') await redis.connect();
  const keyPrefix = `${prefix}${n++}:`;
  const redisState = createRedisState(redis, { prefix: keyPrefix, ringSize: 5 });
  // The connection state the fallback wrapper sees; the commands go to the real Redis.
  const link = { status: 'ready' as string, on: () => link, off: () => link };
  const s = createFallbackState(redisState, link as never, { log: pino({ level: 'silent' }), ringSize: 5 });
  await s.put(record('away', 1, 10), new Uint8Array([1]));
  expect(await redis.sismember(`${keyPrefix}machines`, 'away')).toBe(1);
  link.status = 'reconnecting';
  expect(await s.forget('away')).toBe(true);
  expect(await s.get('away')).toBeUndefined();
  expect(await redis.sismember(`${keyPrefix}machines`, 'away')).toBe(1);
  link.status = 'ready';
  await s.resync();
  expect(await redis.sismember(`${keyPrefix}machines`, 'away')).toBe(0);
  expect(await redis.exists(`${keyPrefix}machine:away`)).toBe(0);
  expect(await s.list()).toEqual([]);
});
