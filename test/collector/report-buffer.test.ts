import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { createReportBuffer } from '../../collector/report-buffer.ts';

const report = (seq: number) => create(ReportSchema, { machineId: 'm', seq: BigInt(seq), timestampMs: BigInt(seq * 1000) });
const seqs = (list: readonly { seq: bigint }[]) => list.map((r) => Number(r.seq));

describe('report buffer', () => {
  it('keeps reports in order until acked; ack drops everything <= seq', () => {
    const buffer = createReportBuffer(10);
    for (let s = 1; s <= 5; s++) buffer.push(report(s));
    expect(buffer.ack(2)).toBe(2);
    expect(seqs(buffer.pending())).toEqual([3, 4, 5]);
    expect(buffer.ack(2)).toBe(0); // an old ack again changes nothing
    expect(buffer.ack(10)).toBe(3);
    expect(buffer.size).toBe(0);
  });

  it.each([
    ['ack below everything', [5, 6, 7], 4, [5, 6, 7]],
    ['ack inside a gap', [2, 4, 9], 5, [9]],
    ['ack exactly the last', [1, 2], 2, []],
  ])('%s', (_name, pushed, ackSeq, left) => {
    const buffer = createReportBuffer(10);
    for (const s of pushed) buffer.push(report(s));
    buffer.ack(ackSeq);
    expect(seqs(buffer.pending())).toEqual(left);
  });

  it('drops the oldest when full and counts the drops', () => {
    const buffer = createReportBuffer(3);
    const dropped = [1, 2, 3, 4, 5].map((s) => buffer.push(report(s)));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(seqs(buffer.pending())).toEqual([3, 4, 5]);
    expect(buffer.droppedTotal).toBe(2);
  });

  it('after(seq) returns the reports to send after a cursor', () => {
    const buffer = createReportBuffer(10);
    for (let s = 1; s <= 4; s++) buffer.push(report(s));
    expect(seqs(buffer.after(0))).toEqual([1, 2, 3, 4]);
    expect(seqs(buffer.after(2))).toEqual([3, 4]);
    expect(buffer.after(4)).toEqual([]);
  });

  it('renumbers the reports after a seq consecutively, keeping their order and timestamps', () => {
    const buffer = createReportBuffer(10);
    for (let s = 1; s <= 4; s++) buffer.push(report(s));
    expect(buffer.renumber(1, 101)).toBe(3);
    expect(seqs(buffer.pending())).toEqual([1, 101, 102, 103]);
    expect(buffer.pending().map((r) => Number(r.timestampMs))).toEqual([1000, 2000, 3000, 4000]);
    expect(() => buffer.renumber(1, 1)).toThrow(RangeError);
  });

  it('refuses a seq that does not increase and a bad capacity', () => {
    const buffer = createReportBuffer(10);
    buffer.push(report(5));
    expect(() => buffer.push(report(5))).toThrow(/not above/);
    expect(() => createReportBuffer(0)).toThrow(RangeError);
  });

  it('stays correct across many pushes and acks (internal compaction)', () => {
    const buffer = createReportBuffer(3600);
    let acked = 0;
    for (let s = 1; s <= 20_000; s++) {
      buffer.push(report(s));
      if (s % 7 === 0) {
        acked = s - 3;
        buffer.ack(acked);
      }
    }
    expect(seqs(buffer.pending())).toEqual(Array.from({ length: 20_000 - acked }, (_, i) => acked + 1 + i));
  });
});
