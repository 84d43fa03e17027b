// The machine list of the REST API, GET /api/machines (the hub) and GET /v/{slug}/api/machines (the
// edge): one shape, so a client reads either. The hub adds the source problems; the edge sends only the
// metrics its view shows, plus each machine's uptime bitmap, and does not know `lastSeq` (0).
import type { Metrics } from './metrics.ts';
import type { SourceProblems } from './source-health.ts';
import type { MachineStatus } from './status.ts';

/** What both answers carry for a machine; `M` is the metrics object (all of them on the hub). */
export interface MachineSummaryFields<M> {
  id: string;
  hostname: string;
  name: string;
  lastSeen: number;
  status: MachineStatus;
  labels: Record<string, string>;
  intervalMs: number;
  lastSeq: number;
  metrics: M;
}

/** The hub's answer. */
export interface MachineSummaryJson extends MachineSummaryFields<Metrics> {
  /** Failing containers, services and disks and the hottest GPU, where the collector reports them. */
  problems?: SourceProblems;
  /** How many of those are failing (the fleet card's badge); the hub's answers only. */
  failing?: number;
}

export interface EdgeMachineUptime {
  slotMs: number;
  /** End of the newest slot (ms, relay clock). */
  end: number;
  slots: number;
  /** base64 of 12 bytes: slot s (0 = newest) is bit s % 8 of byte ⌊s / 8⌋ (proto/view-frames.ts `up`). */
  bitmap: string;
}

/** The edge's answer. */
export interface EdgeMachineSummary extends MachineSummaryFields<Partial<Metrics>> {
  /** The view's metrics this machine has a value for (nothing else). */
  metrics: Partial<Metrics>;
  uptime: EdgeMachineUptime | null;
}
