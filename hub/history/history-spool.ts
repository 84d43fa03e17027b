// The hub's history spool: where batches go while the database is down, as append-only segment files
// under DATA_DIR/history-spool. A batch counts as durable (and its reports are acked) once it is
// written and fdatasync'ed here; the history writer replays the spool into the database, oldest
// batch first, when it answers again, and deletes each segment once every batch in it is stored.
// Replays are idempotent (the store skips rows it already holds), so a crash in the middle of a
// replay only means some batches are written twice, never stored twice.
//
// Records reuse the collector spool's framing (length, CRC-32, number, payload; a torn tail is cut
// off at open, a damaged record in the middle is stepped over and logged with its byte range and the
// batch numbers around it, and the batches after it are kept): the number is a batch counter, the payload the batch as JSON. The spool also knows
// the highest seq it holds per machine, so a reconnecting collector hears about reports that are
// durable here but not yet in the database.
import { mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { encodeSpoolRecord, parseSegmentFileName, recordPayload, scanSegment, segmentFileName } from '../../proto/spool-record.ts';
import type { Logger } from '../log.ts';
import type { HistoryRow, HistoryStore } from './history-store.ts';

export const DEFAULT_HISTORY_SPOOL_MAX_BYTES = 1024 * 1024 * 1024;
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;

export class HistorySpoolFullError extends Error {
  override name = 'HistorySpoolFullError';
}

export interface HistorySpoolStats {
  pendingBatches: number;
  pendingRows: number;
  bytes: number;
  appendedBatches: number;
  replayedBatches: number;
  replayedRows: number;
}

export interface FileHistorySpool {
  readonly dir: string;
  /** Appends a batch and fdatasyncs it; resolves once it is durable. Throws HistorySpoolFullError past maxBytes. */
  append(rows: readonly HistoryRow[]): Promise<void>;
  /** Writes up to `maxBatches` of the oldest batches to `store`, deleting what is stored; returns the rows
   *  written. A failing write throws and leaves that batch (and everything after it) in the spool. */
  replay(store: Pick<HistoryStore, 'write'>, maxBatches: number, policy: ReplayPolicy): Promise<number>;
  readonly pendingBatches: number;
  /** Highest seq of a machine held in the spool (0 when none). */
  maxSeq(machineId: string): number;
  stats(): HistorySpoolStats;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface ReplayPolicy {
  /** A retryable failure stops the replay (the batch stays); any other makes the batch be written row by row. */
  isRetryable(err: unknown): boolean;
  /** A row the database refuses for good (it would have been refused without the spool too): it is dropped. */
  onRejected(row: HistoryRow, err: unknown): void;
}

interface Batch {
  no: number;
  offset: number;
  bytes: number;
  rows: number;
}

interface Segment {
  path: string;
  batches: Batch[];
  /** Batches before this index are in the database. */
  head: number;
  bytes: number;
}

function rowsOf(payload: Uint8Array): HistoryRow[] {
  const rows = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as unknown;
  if (!Array.isArray(rows)) throw new Error('spooled batch is not an array of rows');
  return rows as HistoryRow[];
}

export function openHistorySpool(options: { dir: string; log: Logger; maxBytes?: number; segmentBytes?: number }): FileHistorySpool {
  const { dir, log } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_HISTORY_SPOOL_MAX_BYTES;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  mkdirSync(dir, { recursive: true });

  const segments: Segment[] = [];
  const maxSeqs = new Map<string, number>();
  const stats = { appendedBatches: 0, replayedBatches: 0, replayedRows: 0 };
  let lastNo = 0;
  let totalBytes = 0;
  let handle: FileHandle | undefined;
  /** Appends, replays and close run one at a time. */
  let chain: Promise<unknown> = Promise.resolve();
  let closed: Promise<void> | undefined;

  const noteSeqs = (rows: readonly HistoryRow[]) => {
    for (const r of rows) if (r.seq > (maxSeqs.get(r.machineId) ?? 0)) maxSeqs.set(r.machineId, r.seq);
  };

  // Recovery: every segment in order, torn tails cut off, the per-machine highest seq rebuilt.
  const found = readdirSync(dir)
    .map((name) => ({ name, first: parseSegmentFileName(name) }))
    .filter((f): f is { name: string; first: number } => f.first !== null)
    .sort((a, b) => a.first - b.first);
  for (const { name } of found) {
    const file = path.join(dir, name);
    const data = readFileSync(file);
    const scan = scanSegment(data, lastNo);
    for (const skip of scan.skipped) {
      const before = scan.records.filter((r) => r.offset < skip.offset).at(-1);
      const after = scan.records.find((r) => r.offset >= skip.offset + skip.bytes);
      log.error(
        {
          file,
          offset: skip.offset,
          bytes: skip.bytes,
          problem: skip.problem,
          afterBatch: before?.seq ?? lastNo,
          beforeBatch: after?.seq,
          lostBatches: after ? after.seq - (before?.seq ?? lastNo) - 1 : undefined,
        },
        'damaged record in the middle of a history spool segment; skipped to the next valid record, the batches after it are kept',
      );
    }
    if (scan.problem) {
      log.warn({ file, problem: scan.problem }, 'history spool segment has a damaged tail (a write cut off by a crash); cutting it off');
      truncateSync(file, scan.validBytes);
    }
    const batches: Batch[] = [];
    for (const r of scan.records) {
      try {
        const rows = rowsOf(recordPayload(data, r.offset));
        noteSeqs(rows);
        batches.push({ no: r.seq, offset: r.offset, bytes: r.bytes, rows: rows.length });
      } catch (err) {
        log.error({ file, batch: r.seq, err: (err as Error).message }, 'unreadable batch in the history spool; skipped');
      }
      lastNo = r.seq;
    }
    if (batches.length === 0) {
      unlinkSync(file);
      continue;
    }
    segments.push({ path: file, batches, head: 0, bytes: scan.validBytes });
    totalBytes += scan.validBytes;
  }
  const pendingBatches = () => segments.reduce((n, s) => n + s.batches.length - s.head, 0);
  if (segments.length > 0) {
    log.warn({ batches: pendingBatches(), bytes: totalBytes, dir }, 'history spool holds batches from before the restart; they are replayed when the database answers');
  }

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  };

  async function closeHandle(): Promise<void> {
    const h = handle;
    handle = undefined;
    if (h) await h.close();
  }

  async function removeSegment(index: number): Promise<void> {
    const [segment] = segments.splice(index, 1);
    if (index === segments.length) await closeHandle();
    totalBytes -= segment.bytes;
    try {
      unlinkSync(segment.path);
    } catch (err) {
      log.error({ file: segment.path, err: (err as Error).message }, 'cannot delete a replayed history spool segment');
    }
  }

  async function fsyncDir(): Promise<void> {
    let h: FileHandle | undefined;
    try {
      h = await open(dir, 'r');
      await h.sync();
    } catch {
      /* not supported everywhere; the segment itself is synced */
    } finally {
      await h?.close();
    }
  }

  return {
    dir,
    append(rows) {
      return serial(async () => {
        if (closed) throw new Error('history spool is closed');
        const no = lastNo + 1;
        const record = encodeSpoolRecord(no, Buffer.from(JSON.stringify(rows), 'utf8'));
        if (totalBytes + record.length > maxBytes) {
          throw new HistorySpoolFullError(`history spool is full (${totalBytes} of ${maxBytes} bytes, HISTORY_SPOOL_MAX_BYTES)`);
        }
        let segment = segments[segments.length - 1];
        if (!segment || !handle || segment.bytes + record.length > segmentBytes) {
          await closeHandle();
          segment = { path: path.join(dir, segmentFileName(no)), batches: [], head: 0, bytes: 0 };
          handle = await open(segment.path, 'w');
          await fsyncDir();
          segments.push(segment);
        }
        try {
          await handle.write(record, 0, record.length, segment.bytes);
          await handle.datasync();
        } catch (err) {
          await handle.truncate(segment.bytes).catch(() => {});
          throw err;
        }
        lastNo = no;
        segment.batches.push({ no, offset: segment.bytes, bytes: record.length, rows: rows.length });
        segment.bytes += record.length;
        totalBytes += record.length;
        stats.appendedBatches++;
        noteSeqs(rows);
      });
    },
    replay(store, maxBatches, policy) {
      return serial(async () => {
        let rowsWritten = 0;
        for (let done = 0; done < maxBatches && segments.length > 0; done++) {
          const segment = segments[0];
          if (segment.head >= segment.batches.length) {
            await removeSegment(0);
            done--;
            continue;
          }
          const batch = segment.batches[segment.head];
          const h = await open(segment.path, 'r');
          let payload: Buffer;
          try {
            payload = Buffer.alloc(batch.bytes);
            await h.read(payload, 0, batch.bytes, batch.offset);
          } finally {
            await h.close();
          }
          let rows: HistoryRow[];
          try {
            rows = rowsOf(recordPayload(payload, 0));
          } catch (err) {
            log.error({ file: segment.path, batch: batch.no, err: (err as Error).message }, 'unreadable batch in the history spool; skipped');
            rows = [];
          }
          try {
            await store.write(rows);
          } catch (err) {
            if (policy.isRetryable(err)) throw err;
            for (const row of rows) {
              try {
                await store.write([row]);
              } catch (rowErr) {
                if (policy.isRetryable(rowErr)) throw rowErr;
                policy.onRejected(row, rowErr);
              }
            }
          }
          segment.head++;
          rowsWritten += rows.length;
          stats.replayedBatches++;
          stats.replayedRows += rows.length;
          if (segment.head >= segment.batches.length) await removeSegment(0);
        }
        return rowsWritten;
      });
    },
    get pendingBatches() {
      return pendingBatches();
    },
    maxSeq: (machineId) => maxSeqs.get(machineId) ?? 0,
    stats: () => ({
      pendingBatches: pendingBatches(),
      pendingRows: segments.reduce((n, s) => n + s.batches.slice(s.head).reduce((m, b) => m + b.rows, 0), 0),
      bytes: totalBytes,
      ...stats,
    }),
    close() {
      closed ??= serial(async () => {
        await handle?.sync().catch(() => {});
        await closeHandle();
      });
      return closed;
    },
  };
}
