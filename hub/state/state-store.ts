// The current-state contract: the latest record and report of every machine plus a short recent ring.
// Two implementations (Redis, memory) pass one shared contract suite.
import type { Metrics } from '../../proto/metrics.ts';
import type { SourceProblems } from '../../proto/source-health.ts';

export interface MachineRecord {
  id: string;
  hostname: string;
  displayName: string;
  labels: Record<string, string>;
  /** Hub receipt time of the latest report (drives offline detection; immune to collector clock skew). */
  lastSeenMs: number;
  /** Sample time the collector put in the latest report. */
  sampledAtMs: number;
  lastSeq: number;
  intervalMs: number;
  metrics: Metrics;
  /** Failing containers, services and disks, the hottest GPU (absent in records of older hubs). */
  problems?: SourceProblems;
}

export interface RecentPoint {
  t: number;
  metrics: Metrics;
}

/** How many recent points each machine keeps (5 minutes at 1 s). */
export const RECENT_RING_SIZE = 300;

export interface StateStore {
  readonly kind: 'redis' | 'memory';
  /** Stores the latest record and encoded report, and appends to the recent ring. */
  put(record: MachineRecord, report: Uint8Array): Promise<void>;
  /** put() for many machines at once (one round trip where the store has a server); at most one item per machine. */
  putMany?(items: ReadonlyArray<{ record: MachineRecord; report: Uint8Array }>): Promise<void>;
  get(id: string): Promise<MachineRecord | undefined>;
  list(): Promise<MachineRecord[]>;
  count(): Promise<number>;
  latestReport(id: string): Promise<Uint8Array | undefined>;
  /** Newest last; at most `limit` (default RECENT_RING_SIZE). */
  recent(id: string, limit?: number): Promise<RecentPoint[]>;
  /** Removes the machine (record, report, recent ring) from current state; false when it was unknown. History is kept. */
  forget(id: string): Promise<boolean>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
