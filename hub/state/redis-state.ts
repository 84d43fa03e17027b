// Current state in Redis, shared by every hub replica: one hash per machine (record JSON + latest
// encoded report), a set of machine ids, and a capped list as the recent ring. One pipeline per put.
import type { Redis } from 'ioredis';
import { RECENT_RING_SIZE, type MachineRecord, type RecentPoint, type StateStore } from './state-store.ts';

export function createRedisState(redis: Redis, options: { prefix?: string; ringSize?: number } = {}): StateStore {
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
