// Current state in Redis that survives Redis going away. Every put lands in an in-process memory
// state first (this hub's machines), then in Redis while it is usable; when a write fails the machine
// is marked for resync (with the time of its oldest point Redis may lack) and the hub carries on from
// memory (ingest, acks, the live view and alerts never wait for Redis). Reads prefer Redis and fall
// back to, or are completed by, memory.
//
// A failed write is not taken for an outage by itself: under load a reply can outlast the command
// timeout while Redis is fine. The probe (a PING on a connection of its own, redis-probe.ts) decides:
// Redis answers → a slow reply, puts keep going to Redis and the marked machines are resynced in the
// background; no answer, or the connection is lost → an outage, puts stay in memory until the
// connection is ready and the probe answers again.
//
// The resync is paced: bounded batches (machines and points per pipeline), one pipeline in flight,
// a turn of the event loop between batches; each machine sends only the points since it was marked,
// merged into its ring by time on the server (redis-state.ts), so puts of the same machine may go on
// meanwhile. After an outage, before puts return to Redis, machines Redis no longer knows (it
// restarted without persistence) are marked too and machines forgotten meanwhile are removed.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { createMemoryState } from './memory-state.ts';
import type { RedisProbe } from './redis-probe.ts';
import type { RedisStateStore, ResyncItem } from './redis-state.ts';
import { RECENT_RING_SIZE, type MachineRecord, type StateStore } from './state-store.ts';

/** Recent points per machine the memory mirror keeps (Redis keeps RECENT_RING_SIZE). */
export const MIRROR_RING_SIZE = Math.min(60, RECENT_RING_SIZE);

export interface FallbackStateStats {
  /** True while puts stay in memory (Redis down or not answering its probe). */
  degraded: boolean;
  /** True while marked machines are being written back. */
  resyncing: boolean;
  /** Machines whose latest state Redis may not have yet. */
  pendingResync: number;
  failedWrites: number;
  /** Failed writes after which Redis answered its probe (slow, not down). */
  slowReplies: number;
  outages: number;
  resyncs: number;
  resyncBatches: number;
  resyncedMachines: number;
}

export interface FallbackStateStore extends StateStore {
  stats(): FallbackStateStats;
  /** Brings Redis up to date now (also runs by itself after an outage or a failed write). */
  resync(): Promise<void>;
  /** Another hub forgot the machine in Redis: this hub's memory copy goes too (it would be resynced back). */
  forgetLocally(id: string): Promise<void>;
}

export interface FallbackStateOptions {
  log: Logger;
  ringSize?: number;
  /** Whether Redis is alive (redis-probe.ts); without one every failed write counts as an outage. */
  probe?: RedisProbe;
  /** How often the probe runs while Redis is held down with its connection still open (default 1,000 ms). */
  probeIntervalMs?: number;
  /** Machines per resync pipeline (default 100). */
  resyncBatchMachines?: number;
  /** Recent points per resync pipeline (default 2,000; a machine's points are never split). */
  resyncBatchPoints?: number;
  /** Pause before a resync interrupted by slow replies runs again (default 1,000 ms). */
  resyncRetryMs?: number;
}

export function createFallbackState(
  redisState: RedisStateStore,
  redis: Pick<Redis, 'status' | 'on' | 'off'>,
  options: FallbackStateOptions,
): FallbackStateStore {
  const { log, probe } = options;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  const batchMachines = Math.max(1, options.resyncBatchMachines ?? 100);
  const batchPoints = Math.max(1, options.resyncBatchPoints ?? 2000);
  const retryMs = options.resyncRetryMs ?? 1000;
  // The mirror keeps a shorter ring than Redis: enough to refill the last minute after an outage.
  const memory = createMemoryState(options.ringSize ?? MIRROR_RING_SIZE);
  /** Machine → sample time of its oldest point Redis may lack (-Infinity: all of them). Insertion order = resync order. */
  const dirty = new Map<string, number>();
  /** Machines forgotten while Redis was not usable: removed from Redis when it is back. */
  const forgotten = new Set<string>();
  const counters = { failedWrites: 0, slowReplies: 0, outages: 0, resyncs: 0, resyncBatches: 0, resyncedMachines: 0 };
  let resyncing: Promise<void> | undefined;
  let checking: Promise<void> | undefined;
  let outage = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let lastSlowLogMs = -Infinity;

  const redisUsable = () => redis.status === 'ready' && !outage;

  function markDirty(id: string, since: number): void {
    const known = dirty.get(id);
    if (known === undefined) dirty.set(id, since);
    else if (since < known) dirty.set(id, since);
  }

  function enterOutage(reason: string, err?: unknown): void {
    if (outage) return;
    outage = true;
    counters.outages++;
    log.warn({ err: err === undefined ? undefined : (err as Error).message }, `${reason}: current state kept in memory until it is back`);
  }

  /** A write failed: Redis is slow or gone; the probe tells which. */
  function writeFailed(err: unknown): void {
    counters.failedWrites++;
    if (redis.status !== 'ready' || !probe) {
      enterOutage('Redis unavailable', err);
      if (redis.status === 'ready') void recover();
      return;
    }
    checking ??= (async () => {
      try {
        if (await probe()) {
          counters.slowReplies++;
          if (Date.now() - lastSlowLogMs > 60_000) {
            lastSlowLogMs = Date.now();
            log.warn({ err: (err as Error).message, pending: dirty.size }, 'Redis replies slowly (it answers its probe): state writes go on, the machines whose write failed are resynced in the background');
          }
          scheduleResync(0);
        } else {
          enterOutage('Redis does not answer', err);
          watchProbe();
        }
      } finally {
        checking = undefined;
      }
    })();
  }

  /** While the connection looks open but Redis does not answer: probe again until it does. */
  function watchProbe(): void {
    if (closed || probeTimer || !probe) return;
    probeTimer = setTimeout(async () => {
      probeTimer = undefined;
      if (closed || !outage || redis.status !== 'ready') return; // a lost connection recovers on 'ready'
      if (await probe()) void recover();
      else watchProbe();
    }, probeIntervalMs);
  }

  function scheduleResync(delayMs: number): void {
    if (closed || retryTimer) return;
    if (delayMs <= 0) {
      void resync();
      return;
    }
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void resync();
    }, delayMs);
  }

  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** The next batch off the front of `dirty` (taken out of it; put back by the caller if it fails). */
  async function takeBatch(): Promise<Array<ResyncItem & { since: number }>> {
    const batch: Array<ResyncItem & { since: number }> = [];
    let points = 0;
    for (const [id, since] of dirty) {
      if (batch.length >= batchMachines || (batch.length > 0 && points >= batchPoints)) break;
      dirty.delete(id);
      const record = await memory.get(id);
      if (!record) continue;
      const recent = (await memory.recent(id)).filter((p) => p.t >= since);
      points += recent.length;
      batch.push({ record, report: await memory.latestReport(id), points: recent, since });
    }
    return batch;
  }

  async function removeForgotten(): Promise<void> {
    for (const id of [...forgotten]) {
      await redisState.forget(id);
      forgotten.delete(id);
    }
  }

  /** After an outage, before puts go back to Redis: forgotten machines removed, machines Redis lost marked. */
  async function reconcile(): Promise<void> {
    await removeForgotten();
    const known = (await memory.list()).map((r) => r.id);
    for (let i = 0; i < known.length; i += 1000) {
      for (const id of await redisState.missing(known.slice(i, i + 1000))) markDirty(id, -Infinity);
      await nextTurn();
    }
  }

  /** The connection is ready again (or Redis answers its probe again). */
  async function recover(): Promise<void> {
    if (closed || redis.status !== 'ready') return;
    if (outage) {
      try {
        if (probe && !(await probe())) {
          watchProbe();
          return;
        }
        await reconcile();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'Redis is back but not usable yet; trying again');
        watchProbe();
        return;
      }
      outage = false;
      log.info({ pending: dirty.size }, 'Redis is back: current state goes to Redis again, the machines it missed are resynced in the background');
    }
    void resync();
  }

  async function runResync(full: boolean): Promise<void> {
    counters.resyncs++;
    const started = Date.now();
    let written = 0;
    try {
      if (full) await reconcile();
      else await removeForgotten();
      while (dirty.size > 0 && !closed) {
        if (!redisUsable()) throw new Error('Redis went away during the resync');
        const batch = await takeBatch();
        if (batch.length === 0) continue;
        try {
          await redisState.resyncMany(batch);
        } catch (err) {
          for (const item of batch) markDirty(item.record.id, item.since);
          throw err;
        }
        // Forgotten while its batch was in flight: the batch wrote it back.
        for (const item of batch) if (!(await memory.get(item.record.id))) await redisState.forget(item.record.id);
        counters.resyncBatches++;
        written += batch.length;
        counters.resyncedMachines += batch.length;
        await nextTurn();
      }
      if (written > 0) log.info({ machines: written, ms: Date.now() - started }, 'current state resynced into Redis');
    } catch (err) {
      log.warn({ err: (err as Error).message, written, pending: dirty.size }, 'Redis resync interrupted');
      if (redis.status !== 'ready') enterOutage('Redis connection lost');
      else if (!outage) {
        counters.failedWrites++;
        if (probe && (await probe())) scheduleResync(retryMs);
        else {
          enterOutage('Redis does not answer', err);
          watchProbe();
        }
      }
    }
  }

  function resync(full = false): Promise<void> {
    resyncing ??= runResync(full).finally(() => {
      resyncing = undefined;
    });
    return resyncing;
  }

  const onReady = () => void recover();
  const onClose = () => {
    if (redis.status !== 'ready') enterOutage('Redis connection lost');
  };
  redis.on('ready', onReady);
  redis.on('close', onClose);

  return {
    kind: 'redis',
    async put(record, report) {
      forgotten.delete(record.id);
      await memory.put(record, report);
      if (!redisUsable()) {
        markDirty(record.id, record.sampledAtMs);
        return;
      }
      try {
        await redisState.put(record, report);
      } catch (err) {
        markDirty(record.id, record.sampledAtMs);
        writeFailed(err);
      }
    },
    async putMany(items) {
      for (const { record, report } of items) {
        forgotten.delete(record.id);
        await memory.put(record, report);
      }
      if (!redisUsable()) {
        for (const { record } of items) markDirty(record.id, record.sampledAtMs);
        return;
      }
      try {
        await redisState.putMany(items);
      } catch (err) {
        for (const { record } of items) markDirty(record.id, record.sampledAtMs);
        writeFailed(err);
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
        writeFailed(err);
      }
      return known;
    },
    ping: () => redisState.ping(),
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(probeTimer);
      redis.off('ready', onReady);
      redis.off('close', onClose);
      await checking;
      await resyncing;
      await redisState.close();
    },
    async forgetLocally(id) {
      dirty.delete(id);
      await memory.forget(id);
    },
    stats: () => ({ degraded: !redisUsable(), resyncing: resyncing !== undefined, pendingResync: dirty.size, ...counters }),
    resync: () => resync(true),
  };

  /** Reads Redis when usable; undefined (and memory answers) when not or when it fails. */
  async function fromRedis<T>(read: () => Promise<T>): Promise<T | undefined> {
    if (!redisUsable()) return undefined;
    try {
      return await read();
    } catch {
      return undefined;
    }
  }
}
