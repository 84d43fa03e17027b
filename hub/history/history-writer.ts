// The batching writer between ingest and the history store. `add(row)` resolves once the row's batch
// is committed: that is when the hub acks the collector, so an ack always means "durable".
// Batches flush every flushIntervalMs or at maxBatchRows, one batch in flight at a time, in arrival
// order. A batch that fails for a retryable reason (the database is unreachable) is kept and retried
// with capped exponential backoff; one that fails for good (bad data) is split so only the offending
// rows are rejected. Nothing is dropped silently: every failure is logged, every rejection is an error
// the ingest stream turns into "reconnect and replay".
//
// A long outage: `spool` (the file spool, history-spool.ts). After `spoolAfterFailures` failed attempts
// a batch is appended to the spool instead; once the spool has fsynced it the rows count as written
// (durable on local disk), so collectors get their acks and the backlog does not grow in memory.
// While the spool holds batches, new batches go straight to it (the database is known to be away),
// and the pump replays the spool into the store, oldest first, retrying with backoff; when it is
// empty, batches go to the database again. On close, a batch the database refuses is spooled at once.
// A spool with only `append` (a test seam) is never replayed.
import { backoffCeilingMs } from '../../proto/backoff.ts';
import { DatabaseError } from '../db.ts';
import type { Logger } from '../log.ts';
import type { ReplayPolicy } from './history-spool.ts';
import type { HistoryRow, HistoryStore } from './history-store.ts';

/** Durable holding place for rows the database cannot take right now. */
export interface HistorySpool {
  /** Resolves once the rows are durable (e.g. fsynced to a file). */
  append(rows: readonly HistoryRow[]): Promise<void>;
  /** Batches waiting to be replayed (absent: the spool is never replayed). */
  readonly pendingBatches?: number;
  replay?(store: Pick<HistoryStore, 'write'>, maxBatches: number, policy: ReplayPolicy): Promise<number>;
}

export interface HistoryWriterOptions {
  log: Logger;
  flushIntervalMs?: number;
  maxBatchRows?: number;
  /** Rows waiting (queued + in flight) beyond which add() rejects at once: backpressure on collectors. */
  maxPendingRows?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** close() keeps retrying a failing batch this long, then rejects what is left (collectors replay it). */
  closeTimeoutMs?: number;
  spool?: HistorySpool;
  spoolAfterFailures?: number;
  /** Batches replayed from the spool per turn of the pump, between live batches. */
  replayBatchesPerTurn?: number;
}

export interface HistoryWriterStats {
  pendingRows: number;
  writtenRows: number;
  rejectedRows: number;
  failedAttempts: number;
  spooledRows: number;
  replayedRows: number;
  /** True while new batches go to the spool (it holds batches not yet in the database). */
  spooling: boolean;
}

export interface HistoryWriter {
  add(row: HistoryRow): Promise<void>;
  /**
   * Backpressure: undefined while the backlog is below half of maxPendingRows; above, a promise that
   * resolves once it is down to a quarter. Ingest waits on it before reading the next message, so an
   * overloaded hub slows its collectors down (HTTP/2 flow control) instead of filling the backlog and
   * closing their streams.
   */
  ready(): Promise<void> | undefined;
  /** Resolves when every row added so far is settled (written, spooled or rejected). */
  flush(): Promise<void>;
  /** Flushes, then refuses new rows. Idempotent. */
  close(): Promise<void>;
  readonly stats: Readonly<HistoryWriterStats>;
}

interface Entry {
  row: HistoryRow;
  settled: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Rows per batch at most (a batch is one statement). Large enough that a backlog drains in few
 * round trips: with the event loop saturated by 10,000 streams each round trip waits long for its
 * turn, and 1,000-row batches then wrote ~700 rows/s while the backlog filled.
 */
export const DEFAULT_MAX_BATCH_ROWS = 5000;

/** Capped exponential backoff, deterministic: base, 2·base, 4·base … max. `attempt` starts at 1. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return backoffCeilingMs(attempt - 1, baseMs, maxMs);
}

/** Worth retrying: the database said so (connection trouble). Validation errors and bugs are not. */
export function isRetryable(err: unknown): boolean {
  return err instanceof DatabaseError && err.retryable;
}

export function createHistoryWriter(store: Pick<HistoryStore, 'write'>, options: HistoryWriterOptions): HistoryWriter {
  const log = options.log;
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const maxBatchRows = options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS;
  const maxPendingRows = options.maxPendingRows ?? 100_000;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const spoolAfterFailures = options.spoolAfterFailures ?? 3;
  const replayBatchesPerTurn = options.replayBatchesPerTurn ?? 20;
  const spool = options.spool;
  const replayable = spool?.replay !== undefined;
  for (const [name, v] of Object.entries({ flushIntervalMs, maxBatchRows, maxPendingRows, retryBaseMs, retryMaxMs, closeTimeoutMs, spoolAfterFailures, replayBatchesPerTurn })) {
    if (!Number.isFinite(v) || v < 0 || (name === 'maxBatchRows' && v < 1)) throw new RangeError(`history writer option ${name} is invalid: ${v}`);
  }

  const stats: HistoryWriterStats = {
    pendingRows: 0,
    writtenRows: 0,
    rejectedRows: 0,
    failedAttempts: 0,
    spooledRows: 0,
    replayedRows: 0,
    spooling: replayable && (spool.pendingBatches ?? 0) > 0,
  };
  let replayFailures = 0;
  let nextReplayAtMs = 0;
  const queue: Entry[] = [];
  let inFlight = 0;
  let pumping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Set by close(): a failing batch stops retrying after this time. */
  let giveUpAtMs = Number.POSITIVE_INFINITY;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const highWater = Math.max(1, Math.floor(maxPendingRows / 2));
  const lowWater = Math.floor(maxPendingRows / 4);
  let drained: { promise: Promise<void>; resolve: () => void } | undefined;

  function settle(entries: readonly Entry[], err?: Error) {
    for (const e of entries) {
      if (err) e.reject(err);
      else e.resolve();
    }
    inFlight -= entries.length;
    stats.pendingRows = queue.length + inFlight;
    if (drained && stats.pendingRows <= lowWater) {
      drained.resolve();
      drained = undefined;
    }
  }

  /** Appends a batch to the spool and settles it; false when the spool failed (the caller keeps trying the database). */
  async function toSpool(entries: Entry[], rows: HistoryRow[], attempts: number): Promise<boolean> {
    try {
      await spool!.append(rows);
    } catch (spoolErr) {
      log.error({ err: (spoolErr as Error).message }, 'history spool failed; retrying the database');
      return false;
    }
    stats.spooledRows += rows.length;
    if (replayable && !stats.spooling) {
      stats.spooling = true;
      nextReplayAtMs = Date.now() + retryBaseMs;
      log.warn({ rows: rows.length, attempts }, 'history database unavailable; spooling batches to disk until it is back');
    } else if (!replayable) {
      log.warn({ rows: rows.length, attempts }, 'history database unavailable; batch spooled');
    }
    settle(entries);
    return true;
  }

  /** One turn of replaying the spool into the store, when due; leaves spooling mode once it is empty. */
  async function replayTurn(): Promise<void> {
    if (!stats.spooling || !spool?.replay) return;
    if ((spool.pendingBatches ?? 0) === 0) {
      stats.spooling = false;
      log.info({ replayedRows: stats.replayedRows }, 'history spool replayed; writing to the database again');
      return;
    }
    if (Date.now() < nextReplayAtMs) return;
    try {
      stats.replayedRows += await spool.replay(store, replayBatchesPerTurn, {
        isRetryable,
        onRejected(row, err) {
          stats.rejectedRows++;
          log.error({ err: (err as Error).message, machine: row.machineId, seq: row.seq }, 'spooled history row rejected by the database; dropped');
        },
      });
      replayFailures = 0;
      nextReplayAtMs = 0;
      if ((spool.pendingBatches ?? 0) === 0) {
        stats.spooling = false;
        log.info({ replayedRows: stats.replayedRows }, 'history spool replayed; writing to the database again');
      }
    } catch (err) {
      replayFailures++;
      const delayMs = retryDelayMs(replayFailures, Math.max(retryBaseMs, 100), retryMaxMs);
      nextReplayAtMs = Date.now() + delayMs;
      log[replayFailures === 1 ? 'warn' : 'debug']({ err: (err as Error).message, retryInMs: delayMs }, 'history spool replay failed; the database is still away');
    }
  }

  /** Writes one batch until it is settled; retries retryable failures, isolates permanent ones. */
  async function writeBatch(entries: Entry[]): Promise<void> {
    const rows = entries.map((e) => e.row);
    // The spool holds older batches: the database is away, keep the order and go straight to the spool.
    if (stats.spooling && (await toSpool(entries, rows, 0))) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await store.write(rows);
        stats.writtenRows += rows.length;
        settle(entries);
        return;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (!isRetryable(err)) {
          if (entries.length > 1) {
            log.warn({ err: error.message, rows: entries.length }, 'history batch rejected; writing its rows one by one to find the bad ones');
            for (const e of entries) await writeBatch([e]);
            return;
          }
          const { machineId, seq } = entries[0].row;
          log.error({ err: error.message, machine: machineId, seq }, 'history row rejected by the database');
          stats.rejectedRows += 1;
          settle(entries, error);
          return;
        }
        stats.failedAttempts += 1;
        // Closing: no time to wait for the database, spool at once.
        if (spool && (attempt >= spoolAfterFailures || closed) && (await toSpool(entries, rows, attempt))) return;
        if (Date.now() >= giveUpAtMs) {
          log.error({ err: error.message, rows: rows.length }, 'history writer closing: database still failing, rows not written (collectors will replay them)');
          stats.rejectedRows += rows.length;
          settle(entries, new Error(`history not written before shutdown: ${error.message}`, { cause: err }));
          return;
        }
        const delayMs = retryDelayMs(attempt, retryBaseMs, retryMaxMs);
        log.warn({ err: error.message, rows: rows.length, attempt, retryInMs: delayMs }, 'history write failed; retrying');
        await sleep(Math.min(delayMs, Math.max(0, giveUpAtMs - Date.now())));
      }
    }
  }

  function pump(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    pumping ??= (async () => {
      try {
        for (;;) {
          if (!closed) await replayTurn();
          if (queue.length === 0) break;
          const batch = queue.splice(0, maxBatchRows);
          inFlight += batch.length;
          await writeBatch(batch);
        }
      } finally {
        pumping = undefined;
      }
    })();
    return pumping;
  }

  // While spooling, the pump also runs without new rows, so the spool drains when collectors are quiet.
  const replayTimer = replayable
    ? setInterval(() => {
        if (stats.spooling && !pumping && !closed) void pump();
      }, Math.max(50, Math.min(retryMaxMs, 500)))
    : undefined;
  replayTimer?.unref();

  function schedule() {
    if (pumping) return; // the running pump takes the new rows right after its batch
    if (queue.length >= maxBatchRows) void pump();
    else timer ??= setTimeout(() => void pump(), flushIntervalMs);
  }

  return {
    stats,
    add(row: HistoryRow): Promise<void> {
      if (closed) return Promise.reject(new Error('history writer is closed'));
      if (queue.length + inFlight >= maxPendingRows) {
        return Promise.reject(new Error(`history backlog full: ${queue.length + inFlight} rows are waiting for the database`));
      }
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const settled = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      queue.push({ row, settled, resolve, reject });
      stats.pendingRows = queue.length + inFlight;
      schedule();
      return settled;
    },
    ready() {
      if (drained) return drained.promise;
      if (closed || queue.length + inFlight < highWater) return undefined;
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      drained = { promise, resolve };
      return promise;
    },
    async flush(): Promise<void> {
      const waiting = queue.map((e) => e.settled);
      await pump(); // runs until the queue is empty, so it covers the in-flight batch and `waiting`
      await Promise.allSettled(waiting);
    },
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        drained?.resolve();
        drained = undefined;
        clearInterval(replayTimer);
        giveUpAtMs = Date.now() + closeTimeoutMs;
        wake?.();
        while (queue.length > 0 || pumping) await pump();
      })();
      return closing;
    },
  };
}
