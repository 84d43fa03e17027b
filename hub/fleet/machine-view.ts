// Turns a stored machine record into the live view shared with the dashboard and the edge.
import { liveValues, type MachineView } from '../../proto/delta.ts';
import { machineStatus, type MachineStatus } from '../../proto/status.ts';
import type { MachineRecord } from '../state/state-store.ts';

/** `status` overrides the threshold colours (the hub passes the alert-driven status when rules exist). */
export function toMachineView(record: MachineRecord, nowMs: number, status?: MachineStatus): MachineView {
  return {
    id: record.id,
    name: record.displayName,
    host: record.hostname,
    status: status ?? machineStatus(record.metrics, record.lastSeenMs, record.intervalMs, nowMs),
    labels: record.labels,
    intervalMs: record.intervalMs,
    lastSeen: record.lastSeenMs,
    values: liveValues(record.metrics),
  };
}
