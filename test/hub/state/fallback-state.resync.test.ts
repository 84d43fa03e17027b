// The Redis-backed state store against a private redis-server (spare port, killed and started again):
// a Redis that is really down still means memory, then a resync with nothing lost; a reply that
// outlasts the command timeout because the event loop was busy is not an outage (the probe answers on
// its own connection) and the machine is resynced in the background; a resync of thousands of
// machines goes in bounded batches while a timer keeps firing on time. A resync of an older state
// (another process wrote the machine since) merges its points but leaves the newer record and report.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createRedisGateway, type RedisGateway } from '../../../hub/redis.ts';
import { createFallbackState, type FallbackStateStore } from '../../../hub/state/fallback-state.ts';
import { createRedisProbe } from '../../../hub/state/redis-probe.ts';
import { createRedisState } from '../../../hub/state/redis-state.ts';
import type { MachineRecord, RecentPoint } from '../../../hub/state/state-store.ts';
import { METRIC_NAMES, type Metrics } from '../../../proto/metrics.ts';
import { startPrivateRedis, type PrivateRedis } from '../../support/private-servers.ts';
import { waitFor } from '../../support/servers.ts';

let server: PrivateRedis;
let gateway: RedisGateway | undefined;
let store: FallbackStateStore | undefined;
let prefixN = 0;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  server = await startPrivateRedis();
});
afterEach(async () => {
  await store?.close();
  await gateway?.close();
  store = undefined;
  gateway = undefined;
});
afterAll(async () => {
  await server?.remove();
});

function metrics(cpu: number): Metrics {
  const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, null])) as Metrics;
  m.cpu_percent = cpu;
  m.memory_percent = 50;
  return m;
}
/** Sample time = seq seconds; cpu = seq % 100, so every point is recognisable. */
function record(id: string, seq: number): MachineRecord {
  return { id, hostname: `${id}.lan`, displayName: id, labels: {}, lastSeenMs: seq * 1000 + 5, sampledAtMs: seq * 1000, lastSeq: seq, intervalMs: 1000, metrics: metrics(seq % 100) };
}
const report = (seq: number) => new Uint8Array([seq & 0xff, (seq >> 8) & 0xff]);

function open(options: { resyncBatchMachines?: number; resyncBatchPoints?: number } = {}): { store: FallbackStateStore; prefix: string } {
  const prefix = `rs${++prefixN}:`;
  gateway = createRedisGateway(server.url, log);
  store = createFallbackState(createRedisState(gateway.command, { prefix }), gateway.command, {
    log,
    probe: createRedisProbe(gateway.dedicated('probe')),
    probeIntervalMs: 200,
    ...options,
  });
  return { store, prefix };
}

async function direct<T>(use: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return await use(r);
  } finally {
    r.disconnect();
  }
}
const ringTimes = (prefix: string, id: string) =>
  direct(async (r) => (await r.lrange(`${prefix}recent:${id}`, 0, -1)).map((p) => (JSON.parse(p) as RecentPoint).t));
const redisSeq = (prefix: string, id: string) =>
  direct(async (r) => {
    const raw = await r.hget(`${prefix}machine:${id}`, 'record');
    return raw ? (JSON.parse(raw) as MachineRecord).lastSeq : undefined;
  });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => (from + i) * 1000);

/**
 * Keeps the event loop busy for `ms`, as a saturated hub, once a write just started has gone out (its
 * microtasks run, then the write's own immediate, if auto-pipelining deferred it, before this one): its
 * command timer then fires before its reply is read.
 */
async function busyAfterSend(ms: number): Promise<void> {
  for (let i = 0; i < 20; i++) await null;
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        /* busy */
      }
      resolve();
    }),
  );
}

/** Largest lateness of a 10 ms interval timer while `run` runs. */
async function timerLag<T>(run: () => Promise<T>): Promise<{ result: T; maxLagMs: number; ticks: number }> {
  const period = 10;
  let expected = performance.now() + period;
  let maxLagMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - expected);
    expected = now + period;
    ticks++;
  }, period);
  try {
    return { result: await run(), maxLagMs, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('Redis state store with a fallback', () => {
  test('Redis really down (SIGKILL, restarted empty): puts stay in memory, then every machine and point is resynced', async () => {
    const { store: s, prefix } = open();
    await waitFor('the connection', async () => (await s.ping()) === true, 10_000);
    const ids = ['m-a', 'm-b', 'm-c'];
    for (let seq = 1; seq <= 10; seq++) await s.putMany!(ids.map((id) => ({ record: record(id, seq), report: report(seq) })));
    expect(await ringTimes(prefix, 'm-a')).toEqual(range(1, 10));

    await server.kill('SIGKILL');
    await waitFor('the outage noticed', () => s.stats().degraded, 10_000);
    for (let seq = 11; seq <= 30; seq++) await s.putMany!(ids.map((id) => ({ record: record(id, seq), report: report(seq) })));
    expect(s.stats().pendingResync).toBe(3);
    expect((await s.get('m-b'))?.lastSeq).toBe(30); // from memory
    expect(s.stats().outages).toBe(1);

    await server.start(); // empty: no persistence
    await waitFor('the resync', () => !s.stats().degraded && s.stats().pendingResync === 0 && !s.stats().resyncing, 20_000);
    for (const id of ids) {
      expect(await redisSeq(prefix, id)).toBe(30);
      // Redis lost points 1–10 with its restart; the memory mirror (60 points) had them all.
      expect(await ringTimes(prefix, id)).toEqual(range(1, 30));
      expect(await direct((r) => r.hgetBuffer(`${prefix}machine:${id}`, 'report'))).toEqual(Buffer.from(report(30)));
    }
    // Back to normal: puts go to Redis again.
    await s.putMany!(ids.map((id) => ({ record: record(id, 31), report: report(31) })));
    expect(await ringTimes(prefix, 'm-c')).toEqual(range(1, 31));
    expect(s.stats().slowReplies).toBe(0);
  }, 60_000);

  test('a reply late because the event loop was busy is not an outage: the write failed, the machine is resynced without a gap', async () => {
    const { store: s, prefix } = open();
    await waitFor('the connection', async () => (await s.ping()) === true, 10_000);
    for (let seq = 1; seq <= 5; seq++) await s.put(record('slow', seq), report(seq));

    // The write goes out, then the loop is busy longer than the command timeout (3 s): its timer fires before its reply is read.
    const write = s.put(record('slow', 6), report(6));
    await busyAfterSend(3300);
    await write;
    expect(s.stats().failedWrites).toBeGreaterThanOrEqual(1);
    await waitFor('the probe and the background resync', () => s.stats().slowReplies >= 1 && s.stats().pendingResync === 0 && !s.stats().resyncing, 10_000);
    expect(s.stats().outages).toBe(0);
    expect(s.stats().degraded).toBe(false);
    for (let seq = 7; seq <= 9; seq++) await s.put(record('slow', seq), report(seq));
    // Every point once, in order (the late write did land; the resync merged by time without a duplicate).
    expect(await ringTimes(prefix, 'slow')).toEqual(range(1, 9));
    expect(await redisSeq(prefix, 'slow')).toBe(9);
  }, 30_000);

  test('a resync of 3,000 machines goes in bounded batches, with only the points they missed, and the event loop stays responsive', async () => {
    const machines = 3000;
    const { store: s, prefix } = open({ resyncBatchMachines: 100, resyncBatchPoints: 2000 });
    await waitFor('the connection', async () => (await s.ping()) === true, 10_000);
    const ids = Array.from({ length: machines }, (_, i) => `fleet-${String(i).padStart(4, '0')}`);
    // Seconds 1–10 reach Redis; 11–30 happen while it is down; it restarts empty (no persistence), so 1–30 come back from memory.
    for (let seq = 1; seq <= 10; seq++) await s.putMany!(ids.map((id) => ({ record: record(id, seq), report: report(seq) })));
    await server.kill('SIGTERM');
    await waitFor('the outage noticed', () => s.stats().degraded, 10_000);
    for (let seq = 11; seq <= 30; seq++) await s.putMany!(ids.map((id) => ({ record: record(id, seq), report: report(seq) })));
    expect(s.stats().pendingResync).toBe(machines);
    const batchesBefore = s.stats().resyncBatches;

    const { maxLagMs, ticks } = await timerLag(async () => {
      await server.start();
      await waitFor('the resync', () => !s.stats().degraded && s.stats().pendingResync === 0 && !s.stats().resyncing, 60_000, 5);
    });
    const batches = s.stats().resyncBatches - batchesBefore;
    // 3,000 machines × 30 points at ≤ 2,000 points (and ≤ 100 machines) per pipeline: at least 45 batches.
    expect(batches).toBeGreaterThanOrEqual(Math.ceil((machines * 30) / 2000));
    expect(ticks).toBeGreaterThan(10);
    // A 10 ms timer is never held back long (a batch is ~66 machines of 30 points; measured ~10 ms).
    expect(maxLagMs).toBeLessThan(150); // one unbounded batch of the same machines: ~300 ms
    for (const id of [ids[0]!, ids[1500]!, ids[machines - 1]!]) {
      expect(await ringTimes(prefix, id)).toEqual(range(1, 30));
      expect(await redisSeq(prefix, id)).toBe(30);
    }
    expect(await direct((r) => r.scard(`${prefix}machines`))).toBe(machines);
  }, 120_000);

  test('a machine that missed a write sends only the points since: its longer ring in Redis is merged, not replaced', async () => {
    const { store: s, prefix } = open({ resyncBatchMachines: 2 });
    await waitFor('the connection', async () => (await s.ping()) === true, 10_000);
    for (let seq = 1; seq <= 100; seq++) await s.put(record('long', seq), report(seq));
    // The memory mirror keeps 60 points; Redis keeps 300. A write that failed at seq 101 marks only 101 onwards.
    const write = s.put(record('long', 101), report(101));
    await busyAfterSend(3300);
    await write;
    await waitFor('the resync', () => s.stats().failedWrites >= 1 && s.stats().pendingResync === 0 && !s.stats().resyncing, 15_000);
    await s.put(record('long', 102), report(102));
    expect(await ringTimes(prefix, 'long')).toEqual(range(1, 102)); // 1–41 are older than the mirror: kept from Redis
    expect(s.stats().outages).toBe(0);
  }, 30_000);

  test('a resync of an older state than Redis holds (another process wrote since) keeps the newer record and report', async () => {
    const prefix = `rs${++prefixN}:`;
    gateway = createRedisGateway(server.url, log);
    const redisState = createRedisState(gateway.command, { prefix });
    await waitFor('the connection', async () => (await redisState.ping()) === true, 10_000);
    await redisState.put(record('moved', 10), report(10));
    // This process's memory of the machine stops at 8 (the collector reconnected to another process).
    await redisState.resyncMany([{ record: record('moved', 8), report: report(8), points: [7, 8].map((seq) => ({ t: seq * 1000, metrics: metrics(seq) })) }]);
    expect(await redisSeq(prefix, 'moved')).toBe(10);
    expect([...((await redisState.latestReport('moved')) ?? [])]).toEqual([...report(10)]);
    expect(await ringTimes(prefix, 'moved')).toEqual([7000, 8000, 10_000]);
    // A newer state is written as before.
    await redisState.resyncMachine(record('moved', 12), report(12), [{ t: 12_000, metrics: metrics(12) }]);
    expect(await redisSeq(prefix, 'moved')).toBe(12);
    expect([...((await redisState.latestReport('moved')) ?? [])]).toEqual([...report(12)]);
    expect(await ringTimes(prefix, 'moved')).toEqual([7000, 8000, 10_000, 12_000]);
  }, 30_000);
});
