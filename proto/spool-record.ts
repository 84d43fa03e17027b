// The spool's on-disk record format, pure (no I/O), shared by the collector's report spool
// (collector/spooled-report-buffer.ts) and the hub's history spool (hub/history/history-spool.ts): one
// record per report, appended to segment files named after the first seq they hold.
//
//   record  = length u32 LE | crc32 u32 LE | seq u64 LE | payload (the Report, protobuf binary)
//   crc32   = CRC-32 of seq + payload (bytes 8 .. end of the record)
//
// A segment is read front to back. A record that is short, too long, fails its checksum or does not
// increase the seq is damaged: the scan looks for the next offset where a whole valid record starts
// (header plausible, checksum right, seq increasing) and goes on from there, listing each damaged
// range in `skipped` — one bad record in the middle of a segment no longer costs the records after
// it. Damage with no valid record after it is a torn tail (a write cut off by a crash): `validBytes`
// says where it starts, and the spool truncates the file there.
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 16;
/** A report larger than this is not a report (the hub refuses messages above 1 MiB). */
export const MAX_RECORD_PAYLOAD_BYTES = 4 * 1024 * 1024;
const SEGMENT_NAME = /^seg-(\d{16})\.log$/;

export interface SpoolRecordRef {
  seq: number;
  /** Byte offset of the record (its header) in the segment. */
  offset: number;
  /** Header + payload. */
  bytes: number;
}

export interface SkippedRange {
  /** Byte offset and length of the damaged bytes, with why the first of them is not a record. */
  offset: number;
  bytes: number;
  problem: string;
}

export interface SegmentScan {
  records: SpoolRecordRef[];
  /** Bytes from the start up to the end of the last valid record (what follows is a torn tail). */
  validBytes: number;
  /** Why the bytes from validBytes on are not records (a torn tail), or null when there is none. */
  problem: string | null;
  /** Damaged ranges in the middle of the segment, each followed by valid records. */
  skipped: SkippedRange[];
}

export function encodeSpoolRecord(seq: number, payload: Uint8Array): Buffer {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError(`spool record seq must be a positive safe integer, got ${seq}`);
  if (payload.length > MAX_RECORD_PAYLOAD_BYTES) throw new RangeError(`spool record payload of ${payload.length} bytes exceeds ${MAX_RECORD_PAYLOAD_BYTES}`);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeBigUInt64LE(BigInt(seq), 8);
  record.set(payload, RECORD_HEADER_BYTES);
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
  return record;
}

/** Why no valid record following `lastSeq` starts at `offset`, or undefined when one does (its end in `end`). */
function recordProblemAt(buf: Buffer, offset: number, lastSeq: number): { problem: string } | { end: number; seq: number } {
  if (buf.length - offset < RECORD_HEADER_BYTES) return { problem: `truncated record header at byte ${offset}` };
  const length = buf.readUInt32LE(offset);
  if (length > MAX_RECORD_PAYLOAD_BYTES) return { problem: `record at byte ${offset} claims ${length} bytes` };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > buf.length) return { problem: `truncated record at byte ${offset}` };
  // The cheap seq test first: while resynchronising, most offsets fail it without a checksum.
  const seq = Number(buf.readBigUInt64LE(offset + 8));
  if (!Number.isSafeInteger(seq) || seq <= lastSeq) return { problem: `seq ${seq} at byte ${offset} does not follow ${lastSeq}` };
  if (crc32(buf.subarray(offset + 8, end)) !== buf.readUInt32LE(offset + 4)) return { problem: `checksum mismatch at byte ${offset}` };
  return { end, seq };
}

/** Every valid record of a segment's bytes, in order, stepping over damaged ranges (see header). */
export function scanSegment(data: Uint8Array, afterSeq = 0): SegmentScan {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const records: SpoolRecordRef[] = [];
  const skipped: SkippedRange[] = [];
  let offset = 0;
  let lastSeq = afterSeq;
  while (offset < buf.length) {
    const at = recordProblemAt(buf, offset, lastSeq);
    if ('problem' in at) {
      // Resynchronise: the next offset where a whole valid record starts, if any.
      let next = offset + 1;
      let found: { end: number; seq: number } | undefined;
      for (; next + RECORD_HEADER_BYTES <= buf.length; next++) {
        const candidate = recordProblemAt(buf, next, lastSeq);
        if (!('problem' in candidate)) {
          found = candidate;
          break;
        }
      }
      if (!found) return { records, validBytes: offset, problem: at.problem, skipped };
      skipped.push({ offset, bytes: next - offset, problem: at.problem });
      offset = next;
      continue;
    }
    records.push({ seq: at.seq, offset, bytes: at.end - offset });
    lastSeq = at.seq;
    offset = at.end;
  }
  return { records, validBytes: offset, problem: null, skipped };
}

/** The payload of the record that starts at `offset` in `data` (already validated by scanSegment). */
export function recordPayload(data: Uint8Array, offset: number): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint32(offset, true);
  return data.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
}

export function segmentFileName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.log`;
}

/** The first seq of a segment file, or null for a file that is not a segment. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  return match ? Number(match[1]) : null;
}
