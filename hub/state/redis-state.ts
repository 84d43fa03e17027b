// Current state in Redis, shared by every hub replica: one hash per machine (record JSON + latest
// encoded report), a set of machine ids, and a capped list as the recent ring. One pipeline per put.
import type { Redis } from 'ioredis';
import { recordJson } from './record-json.ts';
import { RECENT_RING_SIZE, type MachineRecord, type RecentPoint, type StateStore } from './state-store.ts';

export interface RedisStateStore extends StateStore {
  putMany(items: ReadonlyArray<{ record: MachineRecord; report: Uint8Array }>): Promise<void>;
  /**
   * Writes a machine's latest record and report, and merges `points` (by time) into its recent ring:
   * used to bring Redis back up to date after an outage (fallback-state.ts).
   */
  resyncMachine(record: MachineRecord, report: Uint8Array | undefined, points: readonly RecentPoint[]): Promise<void>;
  /** Which of `ids` have no record in Redis (e.g. after Redis restarted without persistence). */
  missing(ids: readonly string[]): Promise<string[]>;
}

export function createRedisState(redis: Redis, options: { prefix?: string; ringSize?: number } = {}): RedisStateStore {
  const prefix = options.prefix ?? 'sysmonstm:';
  const ringSize = options.ringSize ?? RECENT_RING_SIZE;
  const idsKey = `${prefix}machines`;
  const machineKey = (id: string) => `${prefix}machine:${id}`;
  const ringKey = (id: string) => `${prefix}recent:${id}`;

  return {
    kind: 'redis',
    async put(record, report) {
      const point: RecentPoint = { t: record.sampledAtMs, metrics: record.metrics };
      await redis
        .multi()
        .hset(machineKey(record.id), 'record', JSON.stringify(record), 'report', Buffer.from(report))
        .sadd(idsKey, record.id)
        .rpush(ringKey(record.id), JSON.stringify(point))
        .ltrim(ringKey(record.id), -ringSize, -1)
        .exec();
    },
    async putMany(items) {
      if (items.length === 0) return;
      // One pipeline for the whole batch (not a transaction: each machine's keys are its own).
      const pipeline = redis.pipeline();
      for (const { record, report } of items) {
        const ring = ringKey(record.id);
        pipeline
          .hset(machineKey(record.id), 'record', recordJson(record), 'report', Buffer.from(report.buffer, report.byteOffset, report.byteLength))
          .sadd(idsKey, record.id)
          .rpush(ring, JSON.stringify({ t: record.sampledAtMs, metrics: record.metrics } satisfies RecentPoint))
          .ltrim(ring, -ringSize, -1);
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async get(id) {
      const raw = await redis.hget(machineKey(id), 'record');
      return raw ? (JSON.parse(raw) as MachineRecord) : undefined;
    },
    async list() {
      const ids = await redis.smembers(idsKey);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(machineKey(id), 'record');
      const results = (await pipeline.exec()) ?? [];
      const out: MachineRecord[] = [];
      for (const [err, raw] of results) {
        if (!err && typeof raw === 'string') out.push(JSON.parse(raw) as MachineRecord);
      }
      return out;
    },
    async count() {
      return redis.scard(idsKey);
    },
    async latestReport(id) {
      const buf = await redis.hgetBuffer(machineKey(id), 'report');
      return buf ? new Uint8Array(buf) : undefined;
    },
    async recent(id, limit = ringSize) {
      const raw = await redis.lrange(ringKey(id), -limit, -1);
      return raw.map((r) => JSON.parse(r) as RecentPoint);
    },
    async forget(id) {
      const results = (await redis.multi().srem(idsKey, id).del(machineKey(id), ringKey(id)).exec()) ?? [];
      return results.some(([err, n]) => !err && typeof n === 'number' && n > 0);
    },
    async resyncMachine(record, report, points) {
      const existing = (await redis.lrange(ringKey(record.id), 0, -1)).map((r) => JSON.parse(r) as RecentPoint);
      const byTime = new Map<number, RecentPoint>();
      for (const p of [...existing, ...points]) byTime.set(p.t, p);
      const ring = [...byTime.values()].sort((a, b) => a.t - b.t).slice(-ringSize);
      const tx = redis.multi().hset(machineKey(record.id), 'record', JSON.stringify(record)).sadd(idsKey, record.id).del(ringKey(record.id));
      if (report) tx.hset(machineKey(record.id), 'report', Buffer.from(report));
      if (ring.length > 0) tx.rpush(ringKey(record.id), ...ring.map((p) => JSON.stringify(p)));
      await tx.exec();
    },
    async missing(ids) {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.exists(machineKey(id));
      const results = (await pipeline.exec()) ?? [];
      return ids.filter((_, i) => results[i]?.[1] !== 1);
    },
    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {},
  };
}
