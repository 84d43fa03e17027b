// The collector's unacked reports, oldest first. A report leaves the buffer only when the hub acks
// its seq (or, when the buffer is full, as the oldest one, counted in `droppedTotal`). While the hub
// is unreachable reports pile up here and are replayed in order on reconnect.
//
// Two implementations: this one keeps everything in memory (bounded by a report count); the
// collector's default, spooled-report-buffer.ts, writes every report to segment files in DATA_DIR
// before it is sent, so unacked reports survive a restart (bounded in bytes).
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';

/** Reports kept in memory: one hour at the default 1 s interval. */
export const DEFAULT_BUFFER_CAPACITY = 3600;

export interface ReportBuffer {
  /** Appends a report (seqs must increase); returns how many old reports were dropped to make room. */
  push(report: Report): number;
  /** Drops every report with seq <= `seq`; returns how many were dropped. */
  ack(seq: number): number;
  /** Every buffered report, oldest first. */
  pending(): readonly Report[];
  /** Buffered reports with seq > `seq`, oldest first; at most `limit` of them. */
  after(seq: number, limit?: number): Report[];
  /** How many buffered reports have seq > `seq` (without loading them). */
  countAfter(seq: number): number;
  /** Gives the reports with seq > `afterSeq` consecutive seqs from `firstSeq` on; returns how many. */
  renumber(afterSeq: number, firstSeq: number): number;
  readonly size: number;
  /** Reports kept in memory (the spooled buffer keeps more on disk). */
  readonly capacity: number;
  /** Reports dropped unacked because the buffer was full, since start. */
  readonly droppedTotal: number;
  /** Highest seq ever pushed (or restored from disk); 0 when none. */
  readonly lastSeq: number;
  /** Bytes the buffer holds on disk (0 for the memory buffer). */
  readonly diskBytes: number;
  /** Makes everything pushed so far durable (fsync); a no-op in memory. */
  flush(): Promise<void>;
  /** Flushes and releases files. Idempotent. */
  close(): Promise<void>;
}

export function createReportBuffer(capacity = DEFAULT_BUFFER_CAPACITY): ReportBuffer {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`buffer capacity must be a positive integer, got ${capacity}`);
  // Array with a moving head: O(1) amortised push/drop without shifting on every ack.
  let items: Report[] = [];
  let head = 0;
  let droppedTotal = 0;
  let lastSeq = 0;

  const compact = () => {
    if (head > 1024 && head * 2 > items.length) {
      items = items.slice(head);
      head = 0;
    }
  };
  /** Index of the first report with seq > `seq`. */
  const firstAfter = (seq: number) => {
    let lo = head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Number(items[mid].seq) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  return {
    push(report) {
      const last = items[items.length - 1];
      if (items.length > head && last.seq >= report.seq) {
        throw new RangeError(`report seq ${report.seq} is not above the last buffered seq ${last.seq}`);
      }
      items.push(report);
      lastSeq = Math.max(lastSeq, Number(report.seq));
      let dropped = 0;
      while (items.length - head > capacity) {
        head++;
        dropped++;
      }
      droppedTotal += dropped;
      compact();
      return dropped;
    },
    ack(seq) {
      const index = firstAfter(seq);
      const dropped = index - head;
      head = index;
      compact();
      return dropped;
    },
    pending: () => items.slice(head),
    after(seq, limit = Number.POSITIVE_INFINITY) {
      const start = firstAfter(seq);
      return items.slice(start, Number.isFinite(limit) ? start + limit : undefined);
    },
    countAfter: (seq) => items.length - firstAfter(seq),
    renumber(afterSeq, firstSeq) {
      if (firstSeq <= afterSeq) throw new RangeError(`renumbering must start above ${afterSeq}, got ${firstSeq}`);
      let next = firstSeq;
      const start = firstAfter(afterSeq);
      for (let i = start; i < items.length; i++) items[i].seq = BigInt(next++);
      if (items.length > start) lastSeq = Math.max(lastSeq, next - 1);
      return items.length - start;
    },
    get size() {
      return items.length - head;
    },
    capacity,
    get droppedTotal() {
      return droppedTotal;
    },
    get lastSeq() {
      return lastSeq;
    },
    diskBytes: 0,
    flush: async () => {},
    close: async () => {},
  };
}
