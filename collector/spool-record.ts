// The collector spool's on-disk record format, pure (no I/O): one record per report, appended to
// segment files named after the first seq they hold.
//
//   record  = length u32 LE | crc32 u32 LE | seq u64 LE | payload (the Report, protobuf binary)
//   crc32   = CRC-32 of seq + payload (bytes 8 .. end of the record)
//
// A segment is read front to back; the first record that is short (a write cut off by a crash), too
// long, fails its checksum or does not increase the seq ends the readable part: `validBytes` says
// where, and the spool truncates the file there. Nothing after a bad record is trusted.
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

export interface SegmentScan {
  records: SpoolRecordRef[];
  /** Bytes from the start that hold whole, valid records. */
  validBytes: number;
  /** Why the scan stopped before the end of the data, or null when every byte was a valid record. */
  problem: string | null;
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

/** Every valid record of a segment's bytes, in order; stops at the first bad one (see header). */
export function scanSegment(data: Uint8Array, afterSeq = 0): SegmentScan {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const records: SpoolRecordRef[] = [];
  let offset = 0;
  let lastSeq = afterSeq;
  const stop = (problem: string): SegmentScan => ({ records, validBytes: offset, problem });
  while (offset < buf.length) {
    if (buf.length - offset < RECORD_HEADER_BYTES) return stop(`truncated record header at byte ${offset}`);
    const length = buf.readUInt32LE(offset);
    if (length > MAX_RECORD_PAYLOAD_BYTES) return stop(`record at byte ${offset} claims ${length} bytes`);
    const end = offset + RECORD_HEADER_BYTES + length;
    if (end > buf.length) return stop(`truncated record at byte ${offset}`);
    if (crc32(buf.subarray(offset + 8, end)) !== buf.readUInt32LE(offset + 4)) return stop(`checksum mismatch at byte ${offset}`);
    const seq = Number(buf.readBigUInt64LE(offset + 8));
    if (!Number.isSafeInteger(seq) || seq <= lastSeq) return stop(`seq ${seq} at byte ${offset} does not follow ${lastSeq}`);
    records.push({ seq, offset, bytes: end - offset });
    lastSeq = seq;
    offset = end;
  }
  return { records, validBytes: offset, problem: null };
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
