// GET /api/machines on the edge answers with the same shape as the hub's (MachineSummaryJson in
// hub/fleet/fleet-query.ts), built from the live view the relay holds: every headline metric is
// present, null where the edge does not carry it. `lastSeq` is not known at the edge and is 0.
import type { MachineView } from '../proto/delta.ts';
import { METRIC_NAMES, type Metrics } from '../proto/metrics.ts';
import type { MachineStatus } from '../proto/status.ts';

export interface EdgeMachineSummary {
  id: string;
  hostname: string;
  name: string;
  lastSeen: number;
  status: MachineStatus;
  labels: Record<string, string>;
  intervalMs: number;
  lastSeq: number;
  metrics: Metrics;
}

export function toEdgeMachineSummary(view: MachineView): EdgeMachineSummary {
  const metrics = {} as Metrics;
  for (const name of METRIC_NAMES) metrics[name] = (view.values as Partial<Record<string, number>>)[name] ?? null;
  return {
    id: view.id,
    hostname: view.host,
    name: view.name,
    lastSeen: view.lastSeen,
    status: view.status,
    labels: view.labels,
    intervalMs: view.intervalMs,
    lastSeq: 0,
    metrics,
  };
}

/** Sorted like the hub's list: by name, then id. */
export function toEdgeMachineList(views: Iterable<MachineView>): EdgeMachineSummary[] {
  return [...views].map(toEdgeMachineSummary).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
