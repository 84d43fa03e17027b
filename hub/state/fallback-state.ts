// Current state in Redis that survives Redis going away. Every put lands in an in-process memory
// state first (this hub's machines), then in Redis when the connection is ready; while it is not, or
// when a write fails, the machine is marked for resync and the hub carries on from memory (ingest,
// acks, the live view and alerts never wait for Redis). Reads prefer Redis and fall back to, or are
// completed by, memory. When the connection is ready again every marked machine — and every machine
// Redis no longer knows (it restarted without persistence) — is written back: latest record and
// report, and the recent ring merged by time. Puts that arrive during the resync go to memory and are
// picked up by the same resync before it ends. A machine forgotten while Redis is away is removed from
// Redis by that resync.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { createMemoryState } from './memory-state.ts';
import type { RedisStateStore } from './redis-state.ts';
import { RECENT_RING_SIZE, type MachineRecord, type StateStore } from './state-store.ts';

/** Recent points per machine the memory mirror keeps (Redis keeps RECENT_RING_SIZE). */
export const MIRROR_RING_SIZE = Math.min(60, RECENT_RING_SIZE);

export interface FallbackStateStats {
  /** True while Redis is not used (down, or being resynced). */
  degraded: boolean;
  /** Machines whose latest state Redis does not have yet. */
  pendingResync: number;
  failedWrites: number;
  resyncs: number;
  resyncedMachines: number;
}

export interface FallbackStateStore extends StateStore {
  stats(): FallbackStateStats;
  /** Brings Redis up to date now (also runs by itself whenever the connection becomes ready). */
  resync(): Promise<void>;
  /** Another hub forgot the machine in Redis: this hub's memory copy goes too (it would be resynced back). */
  forgetLocally(id: string): Promise<void>;
}

export function createFallbackState(
  redisState: RedisStateStore,
  redis: Pick<Redis, 'status' | 'on' | 'off'>,
  options: { log: Logger; ringSize?: number },
): FallbackStateStore {
  const { log } = options;
  // The mirror keeps a shorter ring than Redis: enough to refill the last minute after an outage.
  const memory = createMemoryState(options.ringSize ?? MIRROR_RING_SIZE);
  const dirty = new Set<string>();
  /** Machines forgotten while Redis was not usable: removed from Redis by the next resync. */
  const forgotten = new Set<string>();
  const counters = { failedWrites: 0, resyncs: 0, resyncedMachines: 0 };
  let resyncing: Promise<void> | undefined;
  let outage = false;

  const redisUsable = () => redis.status === 'ready' && resyncing === undefined;

  function noteFailure(err: unknown): void {
    counters.failedWrites++;
    if (!outage) {
      outage = true;
      log.warn({ err: (err as Error).message }, 'Redis unavailable: current state kept in memory until it is back');
    }
  }

  /** Reads Redis when usable; undefined (and memory answers) when not or when it fails. */
  async function fromRedis<T>(read: () => Promise<T>): Promise<T | undefined> {
    if (redis.status !== 'ready') return undefined;
    try {
      return await read();
    } catch {
      return undefined;
    }
  }

  async function runResync(): Promise<void> {
    counters.resyncs++;
    const started = Date.now();
    let written = 0;
    try {
      // Machines Redis lost (a restart without persistence) need writing back too.
      for (const id of [...forgotten]) {
        await redisState.forget(id);
        forgotten.delete(id);
      }
      const known = (await memory.list()).map((r) => r.id);
      for (const id of await redisState.missing(known)) dirty.add(id);
      while (dirty.size > 0) {
        if (redis.status !== 'ready') throw new Error('Redis went away during the resync');
        const ids = [...dirty];
        for (const id of ids) {
          dirty.delete(id);
          const record = await memory.get(id);
          if (!record) continue;
          try {
            await redisState.resyncMachine(record, await memory.latestReport(id), await memory.recent(id));
            written++;
          } catch (err) {
            dirty.add(id);
            throw err;
          }
        }
      }
      counters.resyncedMachines += written;
      if (outage || written > 0) log.info({ machines: written, ms: Date.now() - started }, 'Redis is back: current state resynced');
      outage = false;
    } catch (err) {
      noteFailure(err);
      log.warn({ err: (err as Error).message, written }, 'Redis resync interrupted; it runs again when the connection is ready');
    }
  }

  function resync(): Promise<void> {
    resyncing ??= runResync().finally(() => {
      resyncing = undefined;
    });
    return resyncing;
  }

  const onReady = () => void resync();
  const onClose = () => {
    if (!outage && redis.status !== 'ready') {
      outage = true;
      log.warn('Redis connection lost: current state kept in memory until it is back');
    }
  };
  redis.on('ready', onReady);
  redis.on('close', onClose);

  return {
    kind: 'redis',
    async put(record, report) {
      forgotten.delete(record.id);
      await memory.put(record, report);
      if (!redisUsable()) {
        dirty.add(record.id);
        return;
      }
      try {
        await redisState.put(record, report);
      } catch (err) {
        dirty.add(record.id);
        noteFailure(err);
        // A write that failed while the connection looked ready: catch up as soon as it is ready again.
        if (redis.status === 'ready') void resync();
      }
    },
    async putMany(items) {
      for (const { record, report } of items) {
        forgotten.delete(record.id);
        await memory.put(record, report);
      }
      if (!redisUsable()) {
        for (const { record } of items) dirty.add(record.id);
        return;
      }
      try {
        await redisState.putMany(items);
      } catch (err) {
        for (const { record } of items) dirty.add(record.id);
        noteFailure(err);
        if (redis.status === 'ready') void resync();
      }
    },
    async get(id) {
      if (dirty.has(id)) return memory.get(id);
      return (await fromRedis(() => redisState.get(id))) ?? memory.get(id);
    },
    async list() {
      const merged = new Map<string, MachineRecord>();
      for (const r of (await fromRedis(() => redisState.list())) ?? []) merged.set(r.id, r);
      // Memory knows this hub's machines for sure, and is newer for the ones Redis missed.
      for (const r of await memory.list()) {
        const other = merged.get(r.id);
        if (!other || other.lastSeenMs < r.lastSeenMs || dirty.has(r.id)) merged.set(r.id, r);
      }
      return [...merged.values()];
    },
    async count() {
      return Math.max((await fromRedis(() => redisState.count())) ?? 0, await memory.count());
    },
    async latestReport(id) {
      if (dirty.has(id)) return memory.latestReport(id);
      return (await fromRedis(() => redisState.latestReport(id))) ?? memory.latestReport(id);
    },
    async recent(id, limit) {
      const fromRedisRing = dirty.has(id) ? undefined : await fromRedis(() => redisState.recent(id, limit));
      return fromRedisRing && fromRedisRing.length > 0 ? fromRedisRing : memory.recent(id, limit);
    },
    async forget(id) {
      dirty.delete(id);
      let known = await memory.forget(id);
      if (!redisUsable()) {
        forgotten.add(id);
        return known;
      }
      try {
        known = (await redisState.forget(id)) || known;
      } catch (err) {
        forgotten.add(id);
        noteFailure(err);
      }
      return known;
    },
    ping: () => redisState.ping(),
    async close() {
      redis.off('ready', onReady);
      redis.off('close', onClose);
      await resyncing;
      await redisState.close();
    },
    async forgetLocally(id) {
      dirty.delete(id);
      await memory.forget(id);
    },
    stats: () => ({ degraded: !redisUsable(), pendingResync: dirty.size, ...counters }),
    resync,
  };
}
