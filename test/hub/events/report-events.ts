// The machine record the EventBus tests (the contract and the batch suites) put in their report
// events: its fields follow its seq (seen 1000 + seq, sampled 900 + seq, CPU = seq).
import type { MachineRecord } from '../../../hub/state/state-store.ts';

export const record = (id: string, seq: number): MachineRecord => ({
  id,
  hostname: id,
  displayName: id,
  labels: {},
  lastSeenMs: 1000 + seq,
  sampledAtMs: 900 + seq,
  lastSeq: seq,
  intervalMs: 1000,
  metrics: { cpu_percent: seq } as unknown as MachineRecord['metrics'],
});
