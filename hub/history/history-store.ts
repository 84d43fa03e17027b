// The history contract: one wide row per report, rolled up to 1 min and 1 h tiers.
// Implemented once over a SQL client (TimescaleDB, plain PostgreSQL or the embedded PGlite);
// the same contract suite runs against each.
import type { MetricName, Metrics } from '../../proto/metrics.ts';

export type HistoryStep = 'raw' | '1m' | '1h';
export type HistoryPath = 'timescaledb' | 'postgres';

export interface HistoryRow {
  machineId: string;
  seq: number;
  timeMs: number;
  metrics: Metrics;
}

export type HistoryPoint = [tMs: number, value: number];

/** Bounds on what one history query reads out of the database. */
export interface HistoryQueryLimits {
  /** At most this many points come back (the database stops there). */
  maxPoints?: number;
  /** Thin in the database: per bucket of this width, the lowest and the highest value (peaks survive). */
  bucketMs?: number;
}

export interface HistoryStore {
  /** Which storage path runs: TimescaleDB (hypertable, continuous aggregates) or plain PostgreSQL. */
  readonly path: HistoryPath;
  /** Inserts rows; a row whose (machine_id, seq, time) already exists is skipped, so replays never duplicate. */
  write(rows: readonly HistoryRow[]): Promise<void>;
  /** Points of one metric, oldest first; `step` picks the table (raw rows, 1 min or 1 h averages). */
  query(machineId: string, metric: MetricName, fromMs: number, toMs: number, step: HistoryStep, limits?: HistoryQueryLimits): Promise<HistoryPoint[]>;
  /** Highest seq stored for a machine (0 when none): tells a reconnecting collector where the hub is. */
  lastSeq(machineId: string): Promise<number>;
  /** Periodic upkeep: rollups and retention where the database does not run them itself. */
  maintain(nowMs: number): Promise<void>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
