// History spools no process writes any more: with HUB_PROCESSES = N each process spools to its own
// directory (history-spool for process 1, history-spool-2 … history-spool-N for the others). When N is
// lowered while a spool still holds batches (the database was away when a process stopped), nobody
// would replay history-spool-K for K > N. Process 1 adopts them at start: it replays each into the
// database in the background (retrying while the database is away), counts what they hold in the
// `lastSeq` a reconnecting collector is told, and removes a directory once it is empty.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { openHistorySpool, type FileHistorySpool } from './history-spool.ts';
import type { HistoryStore } from './history-store.ts';
import { isRetryable, retryDelayMs } from './history-writer.ts';

const SPOOL_DIR = /^history-spool-(\d{1,3})$/;

/** Pure: the spool directories among `names` that belong to no process of `processCount`. */
export function orphanSpoolDirs(names: readonly string[], processCount: number): string[] {
  return names
    .map((name) => ({ name, k: Number(SPOOL_DIR.exec(name)?.[1] ?? 0) }))
    .filter(({ k }) => k > processCount && k >= 2)
    .sort((a, b) => a.k - b.k)
    .map(({ name }) => name);
}

export interface OrphanSpools {
  /** Highest seq of a machine still waiting in an adopted spool (0 when none). */
  maxSeq(machineId: string): number;
  /** Resolves when every adopted spool is replayed and removed (for tests). */
  readonly drained: Promise<void>;
  close(): Promise<void>;
}

export function adoptOrphanSpools(options: {
  dataDir: string;
  processCount: number;
  store: Pick<HistoryStore, 'write'>;
  log: Logger;
  retryBaseMs?: number;
  retryMaxMs?: number;
}): OrphanSpools {
  const { log } = options;
  let names: string[] = [];
  try {
    names = orphanSpoolDirs(readdirSync(options.dataDir), options.processCount);
  } catch {
    names = [];
  }
  const spools: FileHistorySpool[] = names.map((name) => openHistorySpool({ dir: path.join(options.dataDir, name), log }));
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
      timer.unref();
    });

  async function drain(spool: FileHistorySpool): Promise<void> {
    const pending = spool.pendingBatches;
    if (pending > 0) log.info({ dir: spool.dir, batches: pending }, 'history spool of a process that no longer runs (HUB_PROCESSES was lowered); replaying it');
    let failures = 0;
    let rows = 0;
    while (!closed && spool.pendingBatches > 0) {
      try {
        rows += await spool.replay(options.store, 20, {
          isRetryable,
          onRejected(row, err) {
            log.error({ err: (err as Error).message, machine: row.machineId, seq: row.seq }, 'spooled history row rejected by the database; dropped');
          },
        });
        failures = 0;
      } catch (err) {
        failures++;
        const delayMs = retryDelayMs(failures, options.retryBaseMs ?? 500, options.retryMaxMs ?? 30_000);
        if (failures === 1) log.warn({ err: (err as Error).message, dir: spool.dir, retryInMs: delayMs }, 'replaying an adopted history spool failed; retrying');
        await sleep(delayMs);
      }
    }
    await spool.close();
    if (closed) return;
    rmSync(spool.dir, { recursive: true, force: true });
    if (pending > 0) log.info({ dir: spool.dir, rows }, 'adopted history spool replayed and removed');
  }

  const drained = (async () => {
    for (const spool of spools) await drain(spool);
  })();
  drained.catch((err: unknown) => log.error({ err: (err as Error).message }, 'adopted history spools: replay stopped'));

  return {
    maxSeq: (id) => spools.reduce((max, s) => Math.max(max, s.pendingBatches > 0 ? s.maxSeq(id) : 0), 0),
    drained,
    async close() {
      closed = true;
      clearTimeout(timer);
      wake?.();
      await drained.catch(() => {});
      await Promise.all(spools.map((s) => s.close()));
    },
  };
}
