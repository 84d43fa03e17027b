// Runs backups every BACKUP_INTERVAL into BACKUP_DIR and keeps the newest BACKUP_KEEP. A backup is
// written under a hidden temporary name, fsynced, then renamed, so a file with a backup's name is
// always complete; leftovers of an interrupted run are removed at start. One run at a time; a failed
// run is logged (and counted in /metrics) and retried sooner than the interval; nothing here ever
// throws into the hub. close() stops the timer and aborts a running pg_dump.
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { backupFileName, backupsToPrune, isPartialFileName, listBackups, nextBackupDelayMs, partialFileName } from './backup-plan.ts';
import type { BackupTarget } from './backup-targets.ts';

/** A failed backup is tried again after this long, or after the interval when that is shorter. */
export const BACKUP_RETRY_MS = 15 * 60_000;
/** The first backup after start waits at least this long (the hub is busy starting, collectors replaying). */
export const BACKUP_FIRST_DELAY_MS = 60_000;

export interface BackupSchedulerOptions {
  target: BackupTarget;
  dir: string;
  /** > 0: run on a schedule after start(). runNow() works either way. */
  intervalMs: number;
  keep: number;
  log: Logger;
  firstDelayMs?: number;
  now?: () => number;
}

export interface BackupResult {
  file: string;
  bytes: number;
  durationMs: number;
  pruned: string[];
}

export interface BackupStats {
  kind: BackupTarget['kind'];
  running: boolean;
  succeeded: number;
  failed: number;
  lastSuccessAtMs: number | null;
  lastDurationMs: number | null;
  lastBytes: number | null;
  lastFile: string | null;
  lastError: string | null;
}

export interface BackupScheduler {
  start(): void;
  /** Takes a backup now (or joins the one running); rejects when it fails. */
  runNow(): Promise<BackupResult>;
  stats(): BackupStats;
  /** Idempotent. */
  close(): Promise<void>;
}

async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function createBackupScheduler(options: BackupSchedulerOptions): BackupScheduler {
  const { target, dir, log, keep } = options;
  const now = options.now ?? Date.now;
  const firstDelayMs = options.firstDelayMs ?? BACKUP_FIRST_DELAY_MS;
  const stats: BackupStats = {
    kind: target.kind,
    running: false,
    succeeded: 0,
    failed: 0,
    lastSuccessAtMs: null,
    lastDurationMs: null,
    lastBytes: null,
    lastFile: null,
    lastError: null,
  };
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<BackupResult> | undefined;
  let closed = false;
  let started = false;

  async function prune(): Promise<string[]> {
    const doomed = backupsToPrune(await readdir(dir), keep);
    const removed: string[] = [];
    for (const name of doomed) {
      try {
        await unlink(path.join(dir, name));
        removed.push(name);
      } catch (err) {
        log.warn({ err: (err as Error).message, file: name }, 'could not remove an old backup');
      }
    }
    return removed;
  }

  async function backup(): Promise<BackupResult> {
    const startedMs = now();
    const name = backupFileName(target.kind, startedMs);
    const finalPath = path.join(dir, name);
    const partialPath = path.join(dir, partialFileName(name));
    await mkdir(dir, { recursive: true });
    try {
      await stat(finalPath);
      throw new Error(`${name} already exists (two backups in one second)`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      await target.write(partialPath, abort.signal);
      await fsyncPath(partialPath);
      await rename(partialPath, finalPath);
      await fsyncPath(dir);
    } catch (err) {
      await unlink(partialPath).catch(() => {});
      throw err;
    }
    const { size } = await stat(finalPath);
    const pruned = await prune();
    return { file: finalPath, bytes: size, durationMs: now() - startedMs, pruned };
  }

  function runNow(): Promise<BackupResult> {
    if (closed) return Promise.reject(new Error('backups are stopped (the hub is shutting down)'));
    running ??= (async () => {
      stats.running = true;
      try {
        const result = await backup();
        stats.succeeded++;
        stats.lastSuccessAtMs = now();
        stats.lastDurationMs = result.durationMs;
        stats.lastBytes = result.bytes;
        stats.lastFile = result.file;
        stats.lastError = null;
        log.info({ file: result.file, bytes: result.bytes, durationMs: result.durationMs, pruned: result.pruned.length }, `backup written (${target.describe})`);
        return result;
      } catch (err) {
        stats.failed++;
        stats.lastError = (err as Error).message;
        throw err;
      } finally {
        stats.running = false;
        running = undefined;
      }
    })();
    return running;
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      runNow().then(
        // The next one is due an interval after this one started, not after it ended.
        (result) => schedule(nextBackupDelayMs(options.intervalMs, now() - result.durationMs, now(), 1000)),
        (err: unknown) => {
          if (closed) return;
          const retryMs = Math.min(options.intervalMs, BACKUP_RETRY_MS);
          log.error({ err: (err as Error).message, retryInMs: retryMs }, `backup failed (${target.describe})`);
          schedule(retryMs);
        },
      );
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      if (closed || started || !(options.intervalMs > 0)) return;
      started = true;
      void (async () => {
        let newestAtMs: number | undefined;
        try {
          await mkdir(dir, { recursive: true });
          const names = await readdir(dir);
          for (const name of names.filter(isPartialFileName)) {
            await unlink(path.join(dir, name)).catch(() => {});
            log.warn({ file: name }, 'removed the leftover of an interrupted backup');
          }
          newestAtMs = listBackups(names)[0]?.atMs;
        } catch (err) {
          log.error({ err: (err as Error).message, dir }, 'backup directory is not usable; backups will keep failing until it is');
        }
        const delayMs = nextBackupDelayMs(options.intervalMs, newestAtMs, now(), firstDelayMs);
        log.info({ dir, intervalMs: options.intervalMs, keep, firstInMs: delayMs }, `backups scheduled (${target.describe})`);
        schedule(delayMs);
      })();
    },
    runNow,
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      abort.abort();
      await running?.catch(() => {});
    },
  };
}
