// TimescaleDB refresh and retention policies, derived from the hub's retention options and reconciled
// at every start (a policy whose interval differs is replaced), so RETENTION_* settings take effect
// without a new migration. The derivation is pure; reconcile is the thin SQL shell around it.
import type { SqlClient } from '../db.ts';
import type { HistoryRetentionDays } from './rollup-tier.ts';

export interface RetentionPolicy {
  readonly kind: 'retention';
  readonly relation: 'metrics' | 'metrics_1m' | 'metrics_1h';
  readonly dropAfterSeconds: number;
}

export interface RefreshPolicy {
  readonly kind: 'refresh';
  readonly relation: 'metrics_1m' | 'metrics_1h';
  readonly startOffsetSeconds: number;
  readonly endOffsetSeconds: number;
  readonly scheduleSeconds: number;
}

export type TimescalePolicy = RetentionPolicy | RefreshPolicy;

const HOUR_S = 3600;
const DAY_S = 86_400;

/**
 * The policies for a retention setting. A refresh window must end inside the source's retention:
 * refreshing a range whose source rows were dropped would delete the aggregate rows too. So the
 * 1 min aggregate looks back to one hour short of raw retention (a collector replaying a long
 * outage still gets its minutes), the 1 h aggregate to one hour short of 1 min retention.
 */
export function timescalePolicies(r: HistoryRetentionDays): TimescalePolicy[] {
  const seconds = (days: number) => Math.round(days * DAY_S);
  return [
    { kind: 'refresh', relation: 'metrics_1m', startOffsetSeconds: Math.max(2 * HOUR_S, seconds(r.rawDays) - HOUR_S), endOffsetSeconds: 60, scheduleSeconds: 60 },
    { kind: 'refresh', relation: 'metrics_1h', startOffsetSeconds: Math.max(3 * HOUR_S, seconds(r.oneMinuteDays) - HOUR_S), endOffsetSeconds: HOUR_S, scheduleSeconds: 30 * 60 },
    { kind: 'retention', relation: 'metrics', dropAfterSeconds: seconds(r.rawDays) },
    { kind: 'retention', relation: 'metrics_1m', dropAfterSeconds: seconds(r.oneMinuteDays) },
    { kind: 'retention', relation: 'metrics_1h', dropAfterSeconds: seconds(r.oneHourDays) },
  ];
}

const interval = (s: number) => `${s} seconds`;

/** Makes the database's policies match `policies`; returns the relations whose policy was (re)created. */
export async function reconcileTimescalePolicies(client: SqlClient, policies: readonly TimescalePolicy[]): Promise<string[]> {
  return client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(8320808700401841013)`);
    const changed: string[] = [];
    for (const p of policies) {
      if (p.kind === 'retention') {
        const { rows } = await tx.query(
          `SELECT 1 FROM timescaledb_information.jobs
            WHERE proc_name = 'policy_retention' AND hypertable_name = $1 AND (config->>'drop_after')::interval = $2::interval`,
          [p.relation, interval(p.dropAfterSeconds)],
        );
        if (rows.length > 0) continue;
        await tx.query(`SELECT remove_retention_policy($1::regclass, if_exists => true)`, [p.relation]);
        await tx.query(`SELECT add_retention_policy($1::regclass, drop_after => $2::interval)`, [p.relation, interval(p.dropAfterSeconds)]);
      } else {
        const { rows } = await tx.query(
          `SELECT 1 FROM timescaledb_information.jobs
            WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = $1
              AND (config->>'start_offset')::interval = $2::interval AND (config->>'end_offset')::interval = $3::interval
              AND schedule_interval = $4::interval`,
          [p.relation, interval(p.startOffsetSeconds), interval(p.endOffsetSeconds), interval(p.scheduleSeconds)],
        );
        if (rows.length > 0) continue;
        await tx.query(`SELECT remove_continuous_aggregate_policy($1::regclass, if_exists => true)`, [p.relation]);
        await tx.query(
          `SELECT add_continuous_aggregate_policy($1::regclass, start_offset => $2::interval, end_offset => $3::interval, schedule_interval => $4::interval)`,
          [p.relation, interval(p.startOffsetSeconds), interval(p.endOffsetSeconds), interval(p.scheduleSeconds)],
        );
      }
      changed.push(`${p.kind} ${p.relation}`);
    }
    return changed;
  });
}
