// GET /v/{slug}/api/machines (and /api/machines for the default view) answers with the shape of the
// hub's list (MachineSummaryJson, proto/machine-json.ts), built from what the view's relay holds:
// only what the hub sent for this view (the metrics it shows; hostname "" and labels {} when hidden),
// plus each machine's uptime over the last 24 h. `lastSeq` is not known at the edge and is 0.
import type { MachineView } from '../proto/delta.ts';
import type { Metrics } from '../proto/metrics.ts';
import type { EdgeMachineSummary, EdgeMachineUptime } from '../proto/machine-json.ts';
import { UPTIME_SLOTS, type UptimeBitmaps } from './uptime-bitmaps.ts';

export type { EdgeMachineSummary, EdgeMachineUptime };

export function toEdgeMachineSummary(view: MachineView, uptime?: UptimeBitmaps, nowMs = 0): EdgeMachineSummary {
  const bitmap = uptime?.bitmap(view.id, nowMs);
  return {
    id: view.id,
    hostname: view.host,
    name: view.name,
    lastSeen: view.lastSeen,
    status: view.status,
    labels: view.labels,
    intervalMs: view.intervalMs,
    lastSeq: 0,
    metrics: { ...view.values } as Partial<Metrics>,
    uptime:
      uptime === undefined || bitmap === undefined
        ? null
        : { slotMs: uptime.slotMs, end: (uptime.slotOf(nowMs) + 1) * uptime.slotMs, slots: UPTIME_SLOTS, bitmap },
  };
}

/** Sorted like the hub's list: by name, then id. */
export function toEdgeMachineList(views: Iterable<MachineView>, uptime?: UptimeBitmaps, nowMs = 0): EdgeMachineSummary[] {
  return [...views].map((v) => toEdgeMachineSummary(v, uptime, nowMs)).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
