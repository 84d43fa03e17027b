// The collector's default report buffer: a write-ahead spool on disk plus a window of the newest
// reports in memory. Every report is appended to a segment file in the spool folder (under DATA_DIR)
// *before* it is sent, in the same tick that took its seq, so a collector that is killed loses nothing
// it has sampled, and a restarted one resends what the hub has not acked (in order; the hub drops the
// ones it already holds by (machine_id, seq)).
//
// - Segments: append-only files `seg-<first seq>.log` of records (spool-record.ts), rolled at
//   `segmentBytes`. An ack deletes every segment whose reports are all acked; the segment being
//   written stays until it rolls (its acked reports are dropped again by the next Welcome), and a
//   clean close with nothing unacked removes every file.
// - Bounded in bytes: above `maxBytes` the oldest segment is dropped, its unacked reports counted in
//   droppedTotal (the default holds days of reports at 1 s).
// - fsync: each report is written with write(2) at once (a killed process loses nothing: the page
//   cache survives it); the segment is fsynced at most `fsyncIntervalMs` later (default 1 s), on
//   every roll and on close, so a power cut loses at most that last interval. `fsyncIntervalMs: 0`
//   fsyncs every report.
// - Memory: the newest `memoryCapacity` reports stay decoded in memory, so sending and a short replay
//   never touch the disk; a longer replay reads the segments in batches (`after(seq, limit)`).
// - Recovery at open: segments are read in order; a torn or corrupt tail (crash mid-write) is cut off
//   at the last whole record and logged; a damaged record in the middle is stepped over (the records
//   after it are kept) and logged with its byte range and the seqs around it.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ReportSchema, type Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { DEFAULT_BUFFER_CAPACITY, type ReportBuffer } from './report-buffer.ts';
import { encodeSpoolRecord, parseSegmentFileName, recordPayload, scanSegment, segmentFileName } from '../proto/spool-record.ts';

/** 256 MiB: about a day at 1 s for a 3 KB report, far beyond the hour the buffer must hold. */
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024;
export const DEFAULT_SPOOL_FSYNC_INTERVAL_MS = 1000;
export const MIN_SPOOL_MAX_BYTES = 64 * 1024;

export interface SpoolLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SpooledReportBufferOptions {
  /** The spool folder (created when missing); one per machine id. */
  dir: string;
  memoryCapacity?: number;
  maxBytes?: number;
  segmentBytes?: number;
  fsyncIntervalMs?: number;
  log?: SpoolLog;
}

export interface SpooledReportBuffer extends ReportBuffer {
  readonly dir: string;
  /** Reports found on disk at open (acked or not: the hub's Welcome sorts them out). */
  readonly restored: number;
}

interface Segment {
  firstSeq: number;
  path: string;
  seqs: number[];
  offsets: number[];
  bytes: number;
  /** Records before this index are acked. */
  head: number;
}

export function spoolDirFor(dataDir: string, machineId: string): string {
  return path.join(dataDir, `collector-spool-${machineId}`);
}

function lastOf(segment: Segment): number {
  return segment.seqs[segment.seqs.length - 1];
}

/** Index of the first record of `segment` with seq > `seq`, searching from `from`. */
function firstIndexAbove(segment: Segment, seq: number, from = 0): number {
  let lo = from;
  let hi = segment.seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segment.seqs[mid] <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on a directory; the data files are still fsynced */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function openSpooledReportBuffer(options: SpooledReportBufferOptions): SpooledReportBuffer {
  const dir = options.dir;
  const memoryCapacity = options.memoryCapacity ?? DEFAULT_BUFFER_CAPACITY;
  const maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
  const fsyncIntervalMs = options.fsyncIntervalMs ?? DEFAULT_SPOOL_FSYNC_INTERVAL_MS;
  const log = options.log;
  if (!Number.isInteger(memoryCapacity) || memoryCapacity < 1) throw new RangeError(`buffer capacity must be a positive integer, got ${memoryCapacity}`);
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_SPOOL_MAX_BYTES) throw new RangeError(`spool size must be at least ${MIN_SPOOL_MAX_BYTES} bytes, got ${maxBytes}`);
  if (!Number.isFinite(fsyncIntervalMs) || fsyncIntervalMs < 0) throw new RangeError(`fsync interval must be >= 0 ms, got ${fsyncIntervalMs}`);
  const segmentBytes = Math.max(4096, Math.min(options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, Math.floor(maxBytes / 4)));

  mkdirSync(dir, { recursive: true });
  const segments: Segment[] = [];
  /** The newest unacked reports, oldest first; always the tail of the log. */
  let memory: Report[] = [];
  let fd: number | undefined;
  let totalBytes = 0;
  let droppedTotal = 0;
  let lastSeq = 0;
  let dirty = false;
  let fsyncTimer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;

  // ---- recovery -------------------------------------------------------------------------------
  const found = readdirSync(dir)
    .map((name) => ({ name, firstSeq: parseSegmentFileName(name) }))
    .filter((f): f is { name: string; firstSeq: number } => f.firstSeq !== null)
    .sort((a, b) => a.firstSeq - b.firstSeq);
  let restored = 0;
  for (const { name, firstSeq } of found) {
    const file = path.join(dir, name);
    const scan = scanSegment(readFileSync(file), lastSeq);
    for (const skip of scan.skipped) {
      const before = scan.records.filter((r) => r.offset < skip.offset).at(-1);
      const after = scan.records.find((r) => r.offset >= skip.offset + skip.bytes);
      log?.error(
        { file, offset: skip.offset, bytes: skip.bytes, problem: skip.problem, afterSeq: before?.seq ?? lastSeq, beforeSeq: after?.seq },
        'damaged record in the middle of a spool segment; skipped to the next valid record, the reports after it are kept',
      );
    }
    if (scan.problem) {
      log?.warn({ file, problem: scan.problem, keptBytes: scan.validBytes }, 'spool segment has a damaged tail (a write cut off by a crash); cutting it off');
      truncateSync(file, scan.validBytes);
    }
    if (scan.records.length === 0) {
      unlinkSync(file);
      continue;
    }
    segments.push({ firstSeq, path: file, seqs: scan.records.map((r) => r.seq), offsets: scan.records.map((r) => r.offset), bytes: scan.validBytes, head: 0 });
    totalBytes += scan.validBytes;
    restored += scan.records.length;
    lastSeq = scan.records[scan.records.length - 1].seq;
  }
  if (segments.length > 0) fd = openSync(segments[segments.length - 1].path, 'a');

  // ---- internals ------------------------------------------------------------------------------
  const unackedCount = () => segments.reduce((n, s) => n + s.seqs.length - s.head, 0);
  const lastLoggedSeq = () => (segments.length > 0 ? lastOf(segments[segments.length - 1]) : 0);

  function fsyncNow(): void {
    clearTimeout(fsyncTimer);
    fsyncTimer = undefined;
    if (!dirty || fd === undefined) return;
    try {
      fsyncSync(fd);
      dirty = false;
    } catch (err) {
      log?.error({ err: (err as Error).message, dir }, 'cannot fsync the report spool');
    }
  }

  function closeFd(): void {
    if (fd === undefined) return;
    fsyncNow();
    closeSync(fd);
    fd = undefined;
  }

  function removeSegment(index: number): void {
    const [segment] = segments.splice(index, 1);
    if (index === segments.length) closeFd(); // it was the one being written
    totalBytes -= segment.bytes;
    try {
      unlinkSync(segment.path);
    } catch (err) {
      log?.error({ err: (err as Error).message, file: segment.path }, 'cannot delete a spool segment');
    }
  }

  function dropMemoryUpTo(seq: number): void {
    let n = 0;
    while (n < memory.length && Number(memory[n].seq) <= seq) n++;
    if (n > 0) memory = memory.slice(n);
  }

  function roll(firstSeq: number): Segment {
    closeFd();
    const segment: Segment = { firstSeq, path: path.join(dir, segmentFileName(firstSeq)), seqs: [], offsets: [], bytes: 0, head: 0 };
    fd = openSync(segment.path, 'w');
    fsyncDir(dir);
    segments.push(segment);
    return segment;
  }

  /** Appends one report to the log and the memory window; throws when the write fails (nothing is kept). */
  function append(report: Report): void {
    const seq = Number(report.seq);
    const record = encodeSpoolRecord(seq, toBinary(ReportSchema, report));
    let segment = segments[segments.length - 1];
    if (segment === undefined || fd === undefined || (segment.bytes > 0 && segment.bytes + record.length > segmentBytes)) segment = roll(seq);
    let written = 0;
    try {
      while (written < record.length) written += writeSync(fd!, record, written, record.length - written, segment.bytes + written);
    } catch (err) {
      if (written > 0) truncateSync(segment.path, segment.bytes);
      throw err;
    }
    segment.seqs.push(seq);
    segment.offsets.push(segment.bytes);
    segment.bytes += record.length;
    totalBytes += record.length;
    memory.push(report);
    if (memory.length > memoryCapacity) memory = memory.slice(memory.length - memoryCapacity);
    if (seq > lastSeq) lastSeq = seq;
    dirty = true;
    if (fsyncIntervalMs === 0) fsyncNow();
    else if (!fsyncTimer) {
      fsyncTimer = setTimeout(fsyncNow, fsyncIntervalMs);
      fsyncTimer.unref();
    }
  }

  /** Drops the oldest segments while the spool is over its size; returns the unacked reports lost. */
  function enforceMaxBytes(): number {
    let dropped = 0;
    while (totalBytes > maxBytes && segments.length > 1) {
      const oldest = segments[0];
      dropped += oldest.seqs.length - oldest.head;
      dropMemoryUpTo(lastOf(oldest));
      removeSegment(0);
    }
    droppedTotal += dropped;
    return dropped;
  }

  /** Reads records [from, to) of a segment from disk, decoded. A segment that cannot be read is dropped. */
  function readRecords(segment: Segment, from: number, to: number): Report[] {
    const start = segment.offsets[from];
    const end = to < segment.seqs.length ? segment.offsets[to] : segment.bytes;
    const data = Buffer.allocUnsafe(end - start);
    const readFd = openSync(segment.path, 'r');
    try {
      let got = 0;
      while (got < data.length) {
        const n = readSync(readFd, data, got, data.length - got, start + got);
        if (n === 0) throw new Error(`spool segment ${segment.path} is shorter than its index`);
        got += n;
      }
    } finally {
      closeSync(readFd);
    }
    const out: Report[] = [];
    for (let i = from; i < to; i++) {
      try {
        const report = fromBinary(ReportSchema, recordPayload(data, segment.offsets[i] - start));
        report.seq = BigInt(segment.seqs[i]);
        out.push(report);
      } catch (err) {
        log?.error({ err: (err as Error).message, file: segment.path, seq: segment.seqs[i] }, 'unreadable report in the spool; skipped');
      }
    }
    return out;
  }

  function after(seq: number, limit = Number.POSITIVE_INFINITY): Report[] {
    if (!(limit > 0)) return [];
    const memoryFirst = memory.length > 0 ? Number(memory[0].seq) : Number.POSITIVE_INFINITY;
    const out: Report[] = [];
    // Older than the memory window: from the segments, in order.
    if (seq < memoryFirst - 1) {
      for (let si = 0; si < segments.length && out.length < limit; si++) {
        const segment = segments[si];
        if (lastOf(segment) <= seq) continue;
        const from = firstIndexAbove(segment, seq, segment.head);
        let to = from;
        while (to < segment.seqs.length && segment.seqs[to] < memoryFirst && to - from < limit - out.length) to++;
        if (to > from) {
          try {
            out.push(...readRecords(segment, from, to));
          } catch (err) {
            log?.error({ err: (err as Error).message, file: segment.path }, 'cannot read a spool segment; its reports are lost');
            droppedTotal += segment.seqs.length - segment.head;
            dropMemoryUpTo(lastOf(segment));
            removeSegment(si);
            si--;
            continue;
          }
        }
        if (to < segment.seqs.length) break; // reached the memory window
      }
    }
    if (out.length < limit) {
      const cursor = out.length > 0 ? Number(out[out.length - 1].seq) : seq;
      let i = 0;
      while (i < memory.length && Number(memory[i].seq) <= cursor) i++;
      out.push(...memory.slice(i, Number.isFinite(limit) ? i + (limit - out.length) : undefined));
    }
    return out;
  }

  /** Removes every record with seq > `seq` from the log (files truncated or deleted). */
  function truncateAfter(seq: number): void {
    closeFd();
    while (segments.length > 0) {
      const segment = segments[segments.length - 1];
      const index = firstIndexAbove(segment, seq);
      if (index === 0) {
        removeSegment(segments.length - 1);
        continue;
      }
      if (index < segment.seqs.length) {
        const keep = segment.offsets[index];
        truncateSync(segment.path, keep);
        totalBytes -= segment.bytes - keep;
        segment.bytes = keep;
        segment.seqs.length = index;
        segment.offsets.length = index;
        segment.head = Math.min(segment.head, index);
      }
      break;
    }
    if (segments.length > 0) fd = openSync(segments[segments.length - 1].path, 'a');
    memory = memory.filter((r) => Number(r.seq) <= seq);
  }

  // Start with the newest reports in memory.
  for (let si = segments.length - 1, need = memoryCapacity; si >= 0 && need > 0; si--) {
    const segment = segments[si];
    const from = Math.max(0, segment.seqs.length - need);
    memory = [...readRecords(segment, from, segment.seqs.length), ...memory];
    need -= segment.seqs.length - from;
  }

  return {
    dir,
    restored,
    push(report) {
      if (closed) throw new Error('the report buffer is closed');
      const last = lastLoggedSeq();
      if (segments.length > 0 && last >= Number(report.seq)) {
        throw new RangeError(`report seq ${report.seq} is not above the last buffered seq ${last}`);
      }
      append(report);
      return enforceMaxBytes();
    },
    ack(seq) {
      let acked = 0;
      while (segments.length > 0) {
        const oldest = segments[0];
        const isCurrent = segments.length === 1;
        if (lastOf(oldest) <= seq && !isCurrent) {
          acked += oldest.seqs.length - oldest.head;
          removeSegment(0);
          continue;
        }
        const index = firstIndexAbove(oldest, seq, oldest.head);
        acked += index - oldest.head;
        oldest.head = index;
        break;
      }
      dropMemoryUpTo(seq);
      return acked;
    },
    pending: () => after(0),
    countAfter: (seq) => segments.reduce((n, s) => n + s.seqs.length - Math.max(s.head, firstIndexAbove(s, seq, s.head)), 0),
    after,
    renumber(afterSeq, firstSeq) {
      if (firstSeq <= afterSeq) throw new RangeError(`renumbering must start above ${afterSeq}, got ${firstSeq}`);
      const moved = after(afterSeq);
      if (moved.length === 0) return 0;
      truncateAfter(afterSeq);
      let next = firstSeq;
      for (const report of moved) {
        report.seq = BigInt(next++);
        append(report);
      }
      enforceMaxBytes();
      return moved.length;
    },
    get size() {
      return unackedCount();
    },
    capacity: memoryCapacity,
    get droppedTotal() {
      return droppedTotal;
    },
    get lastSeq() {
      return lastSeq;
    },
    get diskBytes() {
      return totalBytes;
    },
    async flush() {
      fsyncNow();
    },
    close() {
      closed ??= (async () => {
        fsyncNow();
        if (unackedCount() === 0) {
          // Clean stop with everything acked: leave no files behind.
          while (segments.length > 0) removeSegment(segments.length - 1);
        }
        closeFd();
      })();
      return closed;
    },
  };
}
