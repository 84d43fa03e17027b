// The collector's on-disk report spool: the same contract as the memory buffer, plus what only a disk
// gives — reports survive a reopen (a restart or a kill), a torn tail is cut off, the size stays
// bounded in bytes, replays past the memory window read the segments, an hour at 1 s fits by default.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { createReportBuffer, type ReportBuffer } from '../../collector/report-buffer.ts';
import { encodeSpoolRecord, scanSegment } from '../../proto/spool-record.ts';
import { DEFAULT_SPOOL_MAX_BYTES, openSpooledReportBuffer, type SpooledReportBufferOptions } from '../../collector/spooled-report-buffer.ts';

const report = (seq: number, extra = '') =>
  create(ReportSchema, { machineId: 'm', seq: BigInt(seq), timestampMs: BigInt(1_700_000_000_000 + seq * 1000), hostname: `h${extra}`, cpu: { totalPercent: seq % 100 } });
const seqs = (list: readonly { seq: bigint }[]) => list.map((r) => Number(r.seq));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A report the size a real machine sends: 16 cores, filesystems, interfaces, disks, containers, labels. */
function realisticReport(seq: number): Report {
  return create(ReportSchema, {
    machineId: 'web-01',
    seq: BigInt(seq),
    timestampMs: BigInt(1_700_000_000_000 + seq * 1000),
    hostname: 'web-01.example.com',
    displayName: 'Web 01',
    intervalMs: 1000,
    cpu: { totalPercent: 12.5, perCorePercent: Array.from({ length: 16 }, (_, i) => i * 3.1), userPercent: 8, systemPercent: 4, coreCount: 16 },
    memory: { totalBytes: 64e9, usedBytes: 31e9, availableBytes: 33e9, usedPercent: 48.4, swapTotalBytes: 8e9, swapUsedBytes: 1e8, swapPercent: 1.2 },
    load: { load1m: 1.2, load5m: 0.9, load15m: 0.7 },
    filesystems: ['/', '/home', '/var', '/boot', '/data'].map((mount, i) => ({ mount, device: `/dev/nvme0n1p${i + 1}`, fsType: 'ext4', sizeBytes: 5e11, usedBytes: 2e11, usedPercent: 40 })),
    disks: ['nvme0n1', 'nvme1n1', 'sda'].map((device) => ({ device, readBytesPerSec: 12345, writeBytesPerSec: 67890, readOpsPerSec: 12, writeOpsPerSec: 34 })),
    network: ['eth0', 'eth1', 'docker0', 'lo'].map((name) => ({ name, recvBytesPerSec: 1e5, sentBytesPerSec: 5e4, recvBytesTotal: 1e12, sentBytesTotal: 5e11 })),
    processCount: 412,
    uptimeSeconds: 1_234_567,
    temperatures: [{ sensor: 'Package id 0', celsius: 54 }],
    containers: Array.from({ length: 10 }, (_, i) => ({ id: `c0ffee${i}`.padEnd(12, '0'), name: `service-${i}`, state: 'running', cpuPercent: 1.5, memoryBytes: 2e8, memoryPercent: 0.3 })),
    labels: { env: 'prod', rack: 'r12', role: 'web' },
  });
}

let dir: string;
const opened: ReportBuffer[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sysmonstm-spool-'));
});
afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(options: Partial<SpooledReportBufferOptions> = {}) {
  const buffer = openSpooledReportBuffer({ dir, ...options });
  opened.push(buffer);
  return buffer;
}

// The memory buffer holds 100; the spool keeps only 5 in memory and reads the rest from tiny segments.
const implementations: Array<[string, () => ReportBuffer]> = [
  ['memory', () => createReportBuffer(100)],
  ['spool (small memory window, tiny segments)', () => open({ memoryCapacity: 5, segmentBytes: 200 })],
];

describe.each(implementations)('report buffer contract: %s', (_name, make) => {
  it('keeps reports in order until acked; ack drops everything <= seq; after() with a limit', () => {
    const buffer = make();
    for (let s = 1; s <= 40; s++) buffer.push(report(s));
    expect(buffer.size).toBe(40);
    expect(buffer.lastSeq).toBe(40);
    expect(buffer.ack(12)).toBe(12);
    expect(seqs(buffer.pending())).toEqual(range(13, 40));
    expect(seqs(buffer.after(20, 5))).toEqual([21, 22, 23, 24, 25]);
    expect(seqs(buffer.after(0, 3))).toEqual([13, 14, 15]);
    expect(buffer.countAfter(30)).toBe(10);
    expect(buffer.countAfter(0)).toBe(28);
    expect(buffer.ack(12)).toBe(0);
    expect(buffer.after(40)).toEqual([]);
    expect(() => buffer.push(report(40))).toThrow(/not above/);
    expect(buffer.ack(1000)).toBe(28);
    expect(buffer.size).toBe(0);
  });

  it('keeps the content of each report', () => {
    const buffer = make();
    for (let s = 1; s <= 30; s++) buffer.push(report(s, `-${s}`));
    const all = buffer.pending();
    expect(all.map((r) => r.hostname)).toEqual(range(1, 30).map((s) => `h-${s}`));
    expect(all.map((r) => toBinary(ReportSchema, r))).toEqual(range(1, 30).map((s) => toBinary(ReportSchema, report(s, `-${s}`))));
  });

  it('renumbers the reports after a seq consecutively, keeping order and timestamps', () => {
    const buffer = make();
    for (let s = 1; s <= 20; s++) buffer.push(report(s));
    expect(buffer.renumber(3, 101)).toBe(17);
    expect(seqs(buffer.pending())).toEqual([1, 2, 3, ...range(101, 117)]);
    expect(buffer.pending().map((r) => Number(r.timestampMs) - 1_700_000_000_000)).toEqual(range(1, 20).map((s) => s * 1000));
    expect(buffer.lastSeq).toBe(117);
    buffer.push(report(118));
    expect(() => buffer.renumber(1, 1)).toThrow(RangeError);
  });
});

describe('report spool on disk', () => {
  it('survives a reopen without close (a killed collector): unacked reports come back in order, identical', () => {
    const first = openSpooledReportBuffer({ dir, memoryCapacity: 4, segmentBytes: 300 });
    for (let s = 1; s <= 30; s++) first.push(report(s, `-${s}`));
    first.ack(10);
    // no close(): the process is gone
    const second = open({ memoryCapacity: 4, segmentBytes: 300 });
    expect(second.lastSeq).toBe(30);
    expect(second.restored).toBeGreaterThanOrEqual(20);
    const restored = second.after(10);
    expect(seqs(restored)).toEqual(range(11, 30));
    expect(restored.map((r) => r.hostname)).toEqual(range(11, 30).map((s) => `h-${s}`));
    // Reports at or below the ack may come back too (the segment being written is kept): the Welcome drops them.
    expect(Math.min(...seqs(second.pending()))).toBeLessThanOrEqual(11);
    second.push(report(31));
    expect(seqs(second.after(29))).toEqual([30, 31]);
  });

  it('cuts off a torn record at the tail (a write cut off by a crash) and carries on', async () => {
    const warnings: string[] = [];
    const first = openSpooledReportBuffer({ dir, log: { warn: (_o, m) => warnings.push(m), error: () => {} } });
    for (let s = 1; s <= 5; s++) first.push(report(s));
    await first.flush();
    const [segment] = readdirSync(dir);
    const whole = statSync(path.join(dir, segment)).size;
    appendFileSync(path.join(dir, segment), encodeSpoolRecord(6, toBinary(ReportSchema, report(6))).subarray(0, 21));
    const second = open({ log: { warn: (_o, m) => warnings.push(m), error: () => {} } });
    expect(warnings.some((m) => m.includes('damaged tail'))).toBe(true);
    expect(statSync(path.join(dir, segment)).size).toBe(whole);
    expect(seqs(second.pending())).toEqual([1, 2, 3, 4, 5]);
    second.push(report(6));
    await second.close();
    const third = open();
    expect(seqs(third.pending())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('scanSegment stops at a checksum mismatch and at a seq that does not increase', () => {
    const a = encodeSpoolRecord(1, new Uint8Array([1, 2, 3]));
    const b = encodeSpoolRecord(2, new Uint8Array([4, 5]));
    const flipped = Buffer.concat([a, b]);
    flipped[a.length + 17] ^= 0xff;
    expect(scanSegment(flipped)).toMatchObject({ validBytes: a.length, problem: expect.stringContaining('checksum') });
    expect(scanSegment(Buffer.concat([b, a]))).toMatchObject({ validBytes: b.length, problem: expect.stringContaining('does not follow') });
    expect(scanSegment(Buffer.concat([a, b]))).toMatchObject({ validBytes: a.length + b.length, problem: null });
    expect(() => encodeSpoolRecord(0, new Uint8Array())).toThrow(RangeError);
  });

  it('stays within its byte bound by dropping the oldest segments, and counts what it dropped', () => {
    const buffer = open({ maxBytes: 64 * 1024, memoryCapacity: 50 });
    let dropped = 0;
    for (let s = 1; s <= 400; s++) dropped += buffer.push(realisticReport(s));
    expect(buffer.diskBytes).toBeLessThanOrEqual(64 * 1024);
    expect(dropped).toBeGreaterThan(0);
    expect(buffer.droppedTotal).toBe(dropped);
    const left = seqs(buffer.pending());
    expect(left).toEqual(range(401 - left.length, 400));
    expect(left.length + dropped).toBe(400);
  });

  it('deletes acked segments as it goes, and a clean close with nothing unacked leaves no file', async () => {
    const buffer = open({ segmentBytes: 4096 });
    for (let s = 1; s <= 200; s++) buffer.push(realisticReport(s));
    const before = readdirSync(dir).length;
    expect(before).toBeGreaterThan(5);
    buffer.ack(190);
    expect(readdirSync(dir).length).toBeLessThan(before / 10);
    buffer.ack(200);
    await buffer.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a close with unacked reports keeps them; the reopened spool resends them first', async () => {
    const buffer = open();
    for (let s = 1; s <= 10; s++) buffer.push(report(s));
    buffer.ack(7);
    await buffer.close();
    expect(existsSync(dir) && readdirSync(dir).length).toBe(1);
    const again = open();
    expect(seqs(again.after(7))).toEqual([8, 9, 10]);
    expect(again.lastSeq).toBe(10);
  });

  it('a renumbering is written to disk', () => {
    const first = openSpooledReportBuffer({ dir, segmentBytes: 200, memoryCapacity: 2 });
    for (let s = 1; s <= 12; s++) first.push(report(s));
    first.renumber(4, 51);
    const second = open();
    expect(seqs(second.pending())).toEqual([1, 2, 3, 4, ...range(51, 58)]);
  });

  it('holds an hour at 1 s of realistic reports with the defaults, without dropping any', async () => {
    const buffer = open(); // the defaults: 3600 in memory, 256 MiB on disk
    const started = performance.now();
    for (let s = 1; s <= 3600; s++) expect(buffer.push(realisticReport(s))).toBe(0);
    const pushMs = performance.now() - started;
    await buffer.flush();
    expect(buffer.size).toBe(3600);
    const bytesPerReport = buffer.diskBytes / 3600;
    const hoursAtOneSecond = DEFAULT_SPOOL_MAX_BYTES / bytesPerReport / 3600;
    console.log(`spool: ${bytesPerReport.toFixed(0)} bytes per realistic report, ${(buffer.diskBytes / 1e6).toFixed(1)} MB per hour at 1 s, the default bound holds ${hoursAtOneSecond.toFixed(0)} h; 3600 pushes took ${pushMs.toFixed(0)} ms`);
    expect(hoursAtOneSecond).toBeGreaterThan(1);
    // a replay from disk after a restart reads it all back
    await buffer.close();
    const again = open({ memoryCapacity: 100 });
    let cursor = 0;
    let count = 0;
    for (;;) {
      const batch = again.after(cursor, 500);
      if (batch.length === 0) break;
      count += batch.length;
      cursor = Number(batch[batch.length - 1].seq);
    }
    expect(count).toBe(3600);
    expect(cursor).toBe(3600);
  });
});
