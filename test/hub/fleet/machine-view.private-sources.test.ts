// Containers, processes, GPUs, disk health and services stay on the hub's private API: a machine
// record carrying their problems turns into the same live view and the same delta frames as one
// without, and no name from those sources appears in the frames.
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, diffMachine } from '../../../proto/delta.ts';
import { summarize } from '../../../proto/metrics.ts';
import { sourceProblems } from '../../../proto/source-health.ts';
import { create } from '@bufbuild/protobuf';
import { ReportSchema } from '../../../proto/gen/sysmonstm/v1/report_pb.js';
import { toMachineView } from '../../../hub/fleet/machine-view.ts';
import type { MachineRecord } from '../../../hub/state/state-store.ts';

describe('the live delta format carries none of the extra sources', () => {
  it('a record with problems gives the same view and frames as one without', () => {
    const report = create(ReportSchema, {
      containers: [{ name: 'secret-container', state: 'exited', image: 'registry.internal/app' }],
      services: [{ name: 'secret.service', activeState: 'failed' }],
      topProcesses: [{ pid: 1, name: 'secret-process' }],
    });
    const base: MachineRecord = { id: 'm1', hostname: 'h', displayName: 'M', labels: {}, lastSeenMs: 1000, sampledAtMs: 1000, lastSeq: 1, intervalMs: 1000, metrics: summarize(report) };
    const withProblems: MachineRecord = { ...base, problems: sourceProblems(report) };
    expect(withProblems.problems!.containers_failing).toBe(1);
    const plain = toMachineView(base, 1000);
    const view = toMachineView(withProblems, 1000);
    expect(view).toEqual(plain);
    const frames = [createFleetEncoder().snapshot([view], 1000), createFleetEncoder().delta([diffMachine(undefined, view, 1000)!], [], 1000)];
    expect(frames).toEqual([createFleetEncoder().snapshot([plain], 1000), createFleetEncoder().delta([diffMachine(undefined, plain, 1000)!], [], 1000)]);
    for (const frame of frames) expect(frame).not.toMatch(/secret|containers_failing|services_failed|problems|failing/);
  });
});
