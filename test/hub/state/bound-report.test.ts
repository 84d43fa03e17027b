// The latest report kept in current state stays within its cap also when the bulk is in the lists the
// extra sources fill (services, top processes, disk health, GPUs).
import { create, fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ReportSchema } from '../../../proto/gen/sysmonstm/v1/report_pb.js';
import { boundReportForState, STATE_REPORT_MAX_BYTES } from '../../../hub/state/bound-report.ts';

describe('boundReportForState with the extra sources', () => {
  it('halves the services, processes, disks and GPUs until the report fits', () => {
    const long = (p: string, i: number) => `${p}-${i}-${'x'.repeat(200)}`;
    const report = create(ReportSchema, {
      machineId: 'm',
      services: Array.from({ length: 1000 }, (_, i) => ({ name: long('svc', i), activeState: 'active', subState: 'running' })),
      topProcesses: Array.from({ length: 200 }, (_, i) => ({ pid: i + 1, name: long('proc', i), user: 'root' })),
      diskHealth: Array.from({ length: 256 }, (_, i) => ({ device: long('/dev/sd', i), model: long('model', i), passed: true })),
      gpus: Array.from({ length: 64 }, (_, i) => ({ vendor: 'nvidia', index: i, name: long('gpu', i) })),
    });
    const { bytes, trimmed } = boundReportForState(report);
    expect(trimmed).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(STATE_REPORT_MAX_BYTES);
    const kept = fromBinary(ReportSchema, bytes);
    expect(kept.services[0].name).toBe(report.services[0].name); // the first ones kept, in order
    expect(kept.services.length).toBeLessThan(1000);
    expect(report.services).toHaveLength(1000); // the caller's report stays whole
  });
});
