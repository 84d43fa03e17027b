// The latest top processes shown between the reports that carry them, and not for ever.
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { carryTopProcesses, TOP_PROCESSES_SHOWN_FOR_MS } from '../../hub/top-processes-carry.ts';

const at = (timestampMs: number, names: string[] = []) => create(ReportSchema, { timestampMs: BigInt(timestampMs), topProcesses: names.map((name, i) => ({ pid: i + 1, name })) });

describe('carryTopProcesses', () => {
  it('fills reports without top processes from the latest ones, until they are too old', () => {
    let carry = carryTopProcesses(undefined, at(1000, ['postgres']));
    const between = at(2000);
    carry = carryTopProcesses(carry, between);
    expect(between.topProcesses.map((p) => p.name)).toEqual(['postgres']);
    const newer = at(6000, ['nginx']);
    carry = carryTopProcesses(carry, newer);
    expect(newer.topProcesses.map((p) => p.name)).toEqual(['nginx']);
    const late = at(6000 + TOP_PROCESSES_SHOWN_FOR_MS + 1);
    carry = carryTopProcesses(carry, late);
    expect(late.topProcesses).toEqual([]);
    expect(carry).toBeUndefined();
  });

  it('never fills a report older than the list', () => {
    const carry = carryTopProcesses(undefined, at(5000, ['a']));
    const older = at(4000);
    expect(carryTopProcesses(carry, older)).toBeUndefined();
    expect(older.topProcesses).toEqual([]);
  });
});
