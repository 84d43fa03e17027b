// The HistoryStore over SQL, for both storage paths:
// - TimescaleDB (a server, or the TimescaleDB build of PGlite the tests use): `metrics` is a hypertable,
//   metrics_1m / metrics_1h are real-time continuous aggregates. A server's background workers run the
//   policies; PGlite has none, so maintain() runs the policy jobs itself.
// - plain PostgreSQL: metrics_1m / metrics_1h are tables that maintain() fills by upserting the
//   averages of complete buckets up to a watermark (history_rollup_state); queries add the buckets
//   past the watermark computed on the fly, so freshly written rows show at every step, as they do
//   with real-time aggregates. Late rows (behind the watermark) recompute exactly their own buckets.
//   The hub's embedded default (upstream PGlite) runs this path; PGlite has no autovacuum and no
//   checkpointer, so there maintain() also runs VACUUM (ANALYZE) and CHECKPOINT hourly.
// Metric names are checked against METRIC_NAMES before any SQL is built: a column name is never input.
import { isMetricName, METRIC_NAMES, type MetricName } from '../../proto/metrics.ts';
import { migrate, type SchemaPath } from '../../schema/migrate.ts';
import type { SqlClient, SqlExecutor } from '../db.ts';
import type { Logger } from '../log.ts';
import type { HistoryPoint, HistoryQueryLimits, HistoryRow, HistoryStep, HistoryStore } from './history-store.ts';
import { DEFAULT_RETENTION, type HistoryRetentionDays } from './rollup-tier.ts';
import { reconcileTimescalePolicies, timescalePolicies } from './timescale-policies.ts';

export interface SqlHistoryOptions {
  retention?: Partial<HistoryRetentionDays>;
  log?: Logger;
}

/** Rows per batch a bulk load hands to write() (the writer's own default batch); a batch of any size is one statement. */
export const INSERT_CHUNK_ROWS = Math.min(1000, Math.floor(65_535 / (3 + METRIC_NAMES.length)));
/** Plain path: on the first maintain() after start, buckets this far behind the watermark are recomputed
 *  (late rows another process wrote just before it stopped). */
export const PLAIN_RESTART_LOOKBACK_MS = 2 * 3_600_000;
/** Plain path: a minute is materialised once it ended this long ago, so the rows of its last seconds
 *  still in the writer's batch (or its spool) are in before its average is; queries compute buckets past
 *  the watermark from raw rows, so waiting costs nothing but query time. */
export const PLAIN_ROLLUP_GRACE_MS = 15_000;
/** Plain path: late buckets (behind the watermark) remembered one by one up to this many; beyond,
 *  maintain() falls back to recomputing the whole range from the oldest late row. */
export const PLAIN_LATE_BUCKETS_MAX = 100_000;
/** Plain path on the embedded PGlite: VACUUM ANALYZE the history tables, then CHECKPOINT, at most this
 *  often. PGlite runs no autovacuum, so without it the rows retention deletes would never free their
 *  space for new rows, and the planner would have no statistics; and no checkpointer, so without the
 *  CHECKPOINT the write-ahead log would only be recycled once it reached max_wal_size (1 GB). */
export const EMBEDDED_VACUUM_INTERVAL_MS = 3_600_000;
/** Plain path: (machine, bucket) pairs per statement when late buckets are recomputed. */
const LATE_PAIRS_PER_STATEMENT = 5_000;
/** Plain path: catch-up work per transaction, so a long backlog does not become one huge statement. */
const PLAIN_SLICE_MS = { '1m': 6 * 3_600_000, '1h': 7 * 86_400_000 } as const;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();
const floorTo = (ms: number, width: number) => Math.floor(ms / width) * width;

function checkMetric(metric: string): MetricName {
  if (!isMetricName(metric)) throw new RangeError(`unknown metric "${metric}"; one of: ${METRIC_NAMES.join(', ')}`);
  return metric;
}

function checkRow(row: HistoryRow): void {
  if (typeof row.machineId !== 'string' || row.machineId === '') throw new RangeError('history row without a machine id');
  if (!Number.isSafeInteger(row.seq) || row.seq < 0) throw new RangeError(`history row for ${row.machineId} has an invalid seq ${row.seq}`);
  if (!Number.isFinite(row.timeMs)) throw new RangeError(`history row ${row.machineId}#${row.seq} has an invalid time ${row.timeMs}`);
}

/**
 * The physical range of each headline metric, as the CHECK constraint of 0004_value_ranges.sql (both paths)
 * holds it (the report bounds of validate-report.ts carried through summarize). A value outside is
 * stored as NULL, so one bad value can never fail a whole batch against that constraint.
 */
const PERCENT: readonly [number, number] = [0, 100.5];
const RATE_SUM: readonly [number, number] = [0, 2 ** 58];
export const METRIC_BOUNDS: Readonly<Record<MetricName, readonly [number, number]>> = Object.freeze({
  cpu_percent: PERCENT,
  cpu_user_percent: PERCENT,
  cpu_system_percent: PERCENT,
  cpu_iowait_percent: PERCENT,
  cpu_steal_percent: PERCENT,
  memory_percent: PERCENT,
  memory_used_bytes: [0, 2 ** 60],
  swap_percent: PERCENT,
  disk_percent: PERCENT,
  load_avg_1m: [0, 1e6],
  load_avg_5m: [0, 1e6],
  load_avg_15m: [0, 1e6],
  network_recv_bytes_sec: RATE_SUM,
  network_sent_bytes_sec: RATE_SUM,
  disk_read_bytes_sec: RATE_SUM,
  disk_write_bytes_sec: RATE_SUM,
  process_count: [0, 1e8],
  temperature_c: [-273.15, 1000],
  uptime_seconds: [0, 1e10],
});

/** A metric value for SQL: non-finite or out-of-range numbers are stored as NULL, i.e. "no value". */
function value(name: MetricName, v: number | null | undefined): number | null {
  if (typeof v !== 'number') return null;
  const [min, max] = METRIC_BOUNDS[name];
  return v >= min && v <= max ? v : null; // NaN fails both
}

const COLUMNS = ['time', 'machine_id', 'seq', ...METRIC_NAMES];

/**
 * The insert, with one array parameter per column (INSERT … SELECT FROM unnest(…)): the
 * statement text is the same for every batch, a batch of any size is 3 + 19 parameters
 * instead of 22 per row, and the server parses arrays instead of thousands of bind values.
 */
const UNNEST_INSERT_SQL = `INSERT INTO metrics (${COLUMNS.join(', ')}) SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], ${METRIC_NAMES.map((_, i) => `$${i + 4}::float8[]`).join(', ')}) ON CONFLICT (machine_id, seq, time) DO NOTHING`;

/** A text element of a PostgreSQL array literal: always quoted, `"` and `\` escaped. */
const arrayText = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;

/**
 * The column parameters of UNNEST_INSERT_SQL as PostgreSQL array literals, built here in one pass
 * (the driver's generic array encoding walks and escapes every element): times as quoted ISO text,
 * ids quoted and escaped, seqs and values as plain numbers, NULL where value() says no value.
 */
function unnestParams(rows: readonly HistoryRow[]): string[] {
  const n = rows.length;
  const times = new Array<string>(n);
  const ids = new Array<string>(n);
  const seqs = new Array<string>(n);
  const columns = METRIC_NAMES.map(() => new Array<string>(n));
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    times[r] = `"${iso(row.timeMs)}"`;
    ids[r] = arrayText(row.machineId);
    seqs[r] = String(row.seq);
    for (let c = 0; c < METRIC_NAMES.length; c++) {
      const v = value(METRIC_NAMES[c], row.metrics[METRIC_NAMES[c]]);
      columns[c][r] = v === null ? 'NULL' : String(v);
    }
  }
  return [times, ids, seqs, ...columns].map((column) => `{${column.join(',')}}`);
}

// --- plain-path SQL, built from METRIC_NAMES only ---------------------------------------------

const EPOCH = `TIMESTAMPTZ '1970-01-01 00:00:00+00'`;
const upsertSet = (cols: readonly string[]) => cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
const ROLLUP_COLUMNS = [...METRIC_NAMES, 'cpu_percent_max', 'samples'];

/** 1 min buckets of [$1, $2) from raw rows. */
const ROLLUP_1M_SQL = `
  INSERT INTO metrics_1m (bucket, machine_id, ${ROLLUP_COLUMNS.join(', ')})
  SELECT date_bin(INTERVAL '1 minute', time, ${EPOCH}) AS bucket, machine_id,
         ${METRIC_NAMES.map((n) => `avg(${n})`).join(', ')}, max(cpu_percent), count(*)
    FROM metrics WHERE time >= $1::timestamptz AND time < $2::timestamptz
   GROUP BY 1, 2
  ON CONFLICT (machine_id, bucket) DO UPDATE SET ${upsertSet(ROLLUP_COLUMNS)}`;

/** 1 h buckets of [$1, $2) from the 1 min table (average of the minute averages, like the hierarchical aggregate). */
const ROLLUP_1H_SQL = `
  INSERT INTO metrics_1h (bucket, machine_id, ${ROLLUP_COLUMNS.join(', ')})
  SELECT date_bin(INTERVAL '1 hour', bucket, ${EPOCH}) AS b, machine_id,
         ${METRIC_NAMES.map((n) => `avg(${n})`).join(', ')}, max(cpu_percent_max), sum(samples)::bigint
    FROM metrics_1m WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz
   GROUP BY 1, 2
  ON CONFLICT (machine_id, bucket) DO UPDATE SET ${upsertSet(ROLLUP_COLUMNS)}`;

/** The 1 min buckets of the given (machine_id[], bucket[]) pairs, from raw rows: late rows recomputed
 *  without touching any other machine or minute. */
const LATE_1M_SQL = `
  INSERT INTO metrics_1m (bucket, machine_id, ${ROLLUP_COLUMNS.join(', ')})
  SELECT date_bin(INTERVAL '1 minute', m.time, ${EPOCH}) AS bucket, m.machine_id,
         ${METRIC_NAMES.map((n) => `avg(m.${n})`).join(', ')}, max(m.cpu_percent), count(*)
    FROM unnest($1::text[], $2::timestamptz[]) AS d(machine_id, bucket)
    JOIN metrics m ON m.machine_id = d.machine_id AND m.time >= d.bucket AND m.time < d.bucket + INTERVAL '1 minute'
   GROUP BY 1, 2
  ON CONFLICT (machine_id, bucket) DO UPDATE SET ${upsertSet(ROLLUP_COLUMNS)}`;

/** The 1 h buckets of the given pairs, from the 1 min table. */
const LATE_1H_SQL = `
  INSERT INTO metrics_1h (bucket, machine_id, ${ROLLUP_COLUMNS.join(', ')})
  SELECT date_bin(INTERVAL '1 hour', m.bucket, ${EPOCH}) AS b, m.machine_id,
         ${METRIC_NAMES.map((n) => `avg(m.${n})`).join(', ')}, max(m.cpu_percent_max), sum(m.samples)::bigint
    FROM unnest($1::text[], $2::timestamptz[]) AS d(machine_id, bucket)
    JOIN metrics_1m m ON m.machine_id = d.machine_id AND m.bucket >= d.bucket AND m.bucket < d.bucket + INTERVAL '1 hour'
   GROUP BY 1, 2
  ON CONFLICT (machine_id, bucket) DO UPDATE SET ${upsertSet(ROLLUP_COLUMNS)}`;

const watermarkSql = (tier: '1m' | '1h') =>
  `coalesce((SELECT materialized_until FROM history_rollup_state WHERE tier = '${tier}'), '-infinity'::timestamptz)`;

/** Minute averages of one metric for one machine over [lo, hi): materialised below the 1m watermark, live above. */
function plainMinutesSql(col: MetricName, machine: string, lo: string, hi: string): string {
  return `
    SELECT bucket, ${col} AS v FROM metrics_1m
     WHERE machine_id = ${machine} AND bucket >= ${lo} AND bucket < ${hi} AND bucket < ${watermarkSql('1m')}
    UNION ALL
    SELECT date_bin(INTERVAL '1 minute', time, ${EPOCH}), avg(${col}) FROM metrics
     WHERE machine_id = ${machine} AND time >= greatest(${lo}, ${watermarkSql('1m')}) AND time < ${hi}
     GROUP BY 1`;
}

function plainQuerySql(step: '1m' | '1h', col: MetricName): string {
  const out = (inner: string) =>
    `SELECT (extract(epoch FROM bucket) * 1000)::float8 AS t, v::float8 AS v FROM (${inner}) q WHERE v IS NOT NULL ORDER BY bucket`;
  if (step === '1m') return out(plainMinutesSql(col, '$1', '$2::timestamptz', '$3::timestamptz'));
  return out(`
    SELECT bucket, ${col} AS v FROM metrics_1h
     WHERE machine_id = $1 AND bucket >= $2::timestamptz AND bucket < $3::timestamptz AND bucket < ${watermarkSql('1h')}
    UNION ALL
    SELECT date_bin(INTERVAL '1 hour', bucket, ${EPOCH}) AS bucket, avg(v) FROM (
      ${plainMinutesSql(col, '$1', `greatest($2::timestamptz, ${watermarkSql('1h')})`, '$3::timestamptz')}
    ) m GROUP BY 1`);
}

// -------------------------------------------------------------------------------------------------

async function checkColumns(client: SqlClient): Promise<void> {
  const { rows } = await client.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'metrics'`,
  );
  const have = new Set(rows.map((r) => r.column_name));
  const missing = METRIC_NAMES.filter((n) => !have.has(n));
  if (missing.length > 0) throw new Error(`table metrics lacks the column(s) ${missing.join(', ')}: add a migration in schema/`);
}

export function resolveRetention(retention: Partial<HistoryRetentionDays> | undefined): HistoryRetentionDays {
  const r = { ...DEFAULT_RETENTION, ...retention };
  for (const [key, days] of Object.entries(r)) {
    if (!Number.isFinite(days) || days <= 0) throw new RangeError(`retention.${key} must be a positive number of days, got ${days}`);
  }
  if (r.rawDays > r.oneMinuteDays || r.oneMinuteDays > r.oneHourDays) {
    throw new RangeError('retention must not shrink from raw to 1 min to 1 h (rawDays ≤ oneMinuteDays ≤ oneHourDays)');
  }
  return Object.freeze(r);
}

/** Migrates (idempotent), reconciles TimescaleDB policies, and returns the store. The caller owns `client`. */
export async function createSqlHistory(client: SqlClient, options: SqlHistoryOptions = {}): Promise<HistoryStore> {
  const retention = resolveRetention(options.retention);
  const { path, applied } = await migrate(client);
  if (applied.length > 0) options.log?.info({ applied }, 'history: schema migrated');
  await checkColumns(client);
  if (path === 'timescaledb') {
    const changed = await reconcileTimescalePolicies(client, timescalePolicies(retention));
    if (changed.length > 0) options.log?.info({ policies: changed }, 'history: TimescaleDB policies set');
  }
  return path === 'timescaledb' ? timescaleStore(client, options) : plainStore(client, retention, options);
}

interface Common {
  path: SchemaPath;
  client: SqlClient;
  guard(): void;
}

function commonStore(base: Common, tierSql: (step: '1m' | '1h', col: MetricName) => string, hooks: { written(rows: readonly HistoryRow[]): void }) {
  const { client, guard } = base;
  return {
    path: base.path,
    async write(rows: readonly HistoryRow[]): Promise<void> {
      guard();
      if (rows.length === 0) return;
      rows.forEach(checkRow);
      // One statement for the whole batch (atomic by itself), whatever its size.
      await client.query(UNNEST_INSERT_SQL, unnestParams(rows));
      hooks.written(rows);
    },
    async query(machineId: string, metric: MetricName, fromMs: number, toMs: number, step: HistoryStep, limits: HistoryQueryLimits = {}): Promise<HistoryPoint[]> {
      guard();
      const col = checkMetric(metric);
      if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) throw new RangeError('history range needs finite fromMs and toMs');
      let text: string;
      let params: unknown[];
      if (step === 'raw') {
        text = `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, ${col}::float8 AS v FROM metrics
                 WHERE machine_id = $1 AND time >= $2::timestamptz AND time <= $3::timestamptz AND ${col} IS NOT NULL ORDER BY time`;
        params = [machineId, iso(fromMs), iso(toMs)];
      } else if (step === '1m' || step === '1h') {
        // Every bucket that overlaps [fromMs, toMs]: starts from floor(fromMs) through floor(toMs).
        const width = step === '1m' ? MINUTE_MS : HOUR_MS;
        text = tierSql(step, col);
        params = [machineId, iso(floorTo(fromMs, width)), iso(floorTo(toMs, width) + width)];
      } else {
        throw new RangeError(`unknown history step "${String(step)}"; one of raw, 1m, 1h`);
      }
      if (limits.bucketMs !== undefined) {
        // Thinned in the database: per bucket the lowest and the highest value, each at its bucket's
        // first and last time, so only ~2 rows per bucket leave PostgreSQL and peaks survive.
        if (!(Number.isFinite(limits.bucketMs) && limits.bucketMs >= 1)) throw new RangeError(`bucketMs must be at least 1, got ${limits.bucketMs}`);
        params.push(Math.ceil(limits.bucketMs));
        const b = `$${params.length}::float8`;
        text = `SELECT x.t, x.v FROM (
                  SELECT min(t) AS t0, max(t) AS t1, min(v) AS lo, max(v) AS hi, count(*) AS n FROM (${text}) s GROUP BY floor(t / ${b})
                ) g, LATERAL (VALUES (0, g.t0, g.lo), (1, g.t1, g.hi)) AS x(k, t, v)
                WHERE x.k = 0 OR g.n > 1 ORDER BY x.t, x.k`;
      }
      if (limits.maxPoints !== undefined) {
        if (!(Number.isSafeInteger(limits.maxPoints) && limits.maxPoints >= 1)) throw new RangeError(`maxPoints must be a positive integer, got ${limits.maxPoints}`);
        params.push(limits.maxPoints);
        text = `SELECT t, v FROM (${text}) l LIMIT $${params.length}`;
      }
      const { rows } = await client.query<{ t: number; v: number }>(text, params);
      return rows.map((r) => [Number(r.t), Number(r.v)]);
    },
    async lastSeq(machineId: string): Promise<number> {
      guard();
      const { rows } = await client.query<{ seq: number }>(`SELECT coalesce(max(seq), 0)::float8 AS seq FROM metrics WHERE machine_id = $1`, [machineId]);
      return Number(rows[0].seq);
    },
    async ping(): Promise<boolean> {
      try {
        guard();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
  };
}

function closable() {
  let closed = false;
  return {
    guard() {
      if (closed) throw new Error('history store is closed');
    },
    async close() {
      closed = true;
    },
  };
}

/** Runs every step, reports all failures together (a failing step does not stop the rest). */
async function runSteps(steps: ReadonlyArray<readonly [string, () => Promise<unknown>]>, log: Logger | undefined): Promise<void> {
  const failures: string[] = [];
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (err) {
      const message = `${name}: ${(err as Error).message}`;
      log?.warn({ err: message }, 'history maintenance step failed');
      failures.push(message);
    }
  }
  if (failures.length > 0) throw new Error(`history maintenance failed (${failures.join('; ')})`);
}

// Retention on this path is the reconciled policies' job (run by the server, or by maintain() on PGlite).
function timescaleStore(client: SqlClient, options: SqlHistoryOptions): HistoryStore {
  const c = closable();
  const tierSql = (step: '1m' | '1h', col: MetricName) =>
    `SELECT (extract(epoch FROM bucket) * 1000)::float8 AS t, ${col}::float8 AS v FROM ${step === '1m' ? 'metrics_1m' : 'metrics_1h'}
      WHERE machine_id = $1 AND bucket >= $2::timestamptz AND bucket < $3::timestamptz AND ${col} IS NOT NULL ORDER BY bucket`;
  const order = (proc: string, relation: string) =>
    proc === 'policy_refresh_continuous_aggregate' ? (relation === 'metrics_1m' ? 0 : 1) : proc === 'policy_compression' ? 2 : 3;
  return {
    ...commonStore({ path: 'timescaledb', client, guard: c.guard }, tierSql, { written() {} }),
    async maintain(): Promise<void> {
      c.guard();
      // A TimescaleDB server runs its jobs in background workers; the embedded build has none.
      if (client.kind !== 'pglite') return;
      const { rows } = await client.query<{ job_id: number; proc_name: string; relation: string }>(
        `SELECT job_id, proc_name, hypertable_name AS relation FROM timescaledb_information.jobs
          WHERE proc_name IN ('policy_refresh_continuous_aggregate', 'policy_compression', 'policy_retention')`,
      );
      // Minutes before hours (the hour aggregate reads the minute one), then compression, then retention.
      const jobs = [...rows].sort((a, b) => order(a.proc_name, a.relation) - order(b.proc_name, b.relation) || a.job_id - b.job_id);
      await runSteps(
        jobs.map((j) => [`${j.proc_name} ${j.relation} (job ${j.job_id})`, () => client.exec(`CALL run_job(${Number(j.job_id)})`)] as const),
        options.log,
      );
    },
    close: c.close,
  };
}

function plainStore(client: SqlClient, retention: HistoryRetentionDays, options: SqlHistoryOptions): HistoryStore {
  const c = closable();
  /**
   * Rows written since the last rollup, as the 1 min buckets they fall in, per machine: the buckets
   * behind the watermark are recomputed one by one (a single old report costs one bucket, not the
   * fleet's whole range since it). `restarted`: just started, so buckets shortly behind the watermark
   * are recomputed for everyone (rows another process wrote just before it stopped). `overflowFromMs`:
   * too many late buckets to track; the whole range from there is recomputed instead.
   */
  let restarted = true;
  let lateMinutes = new Map<string, Set<number>>();
  let lateCount = 0;
  let overflowFromMs: number | undefined;
  let maintaining: Promise<void> | undefined;
  /** nowMs of the last VACUUM on the embedded database (none yet: the first maintain() runs one). */
  let vacuumedAtMs: number | undefined;

  function noteWritten(machineId: string, timeMs: number): void {
    const bucket = floorTo(timeMs, MINUTE_MS);
    if (overflowFromMs !== undefined) {
      overflowFromMs = Math.min(overflowFromMs, bucket);
      return;
    }
    let set = lateMinutes.get(machineId);
    if (!set) lateMinutes.set(machineId, (set = new Set()));
    if (set.has(bucket)) return;
    set.add(bucket);
    if (++lateCount > PLAIN_LATE_BUCKETS_MAX) {
      let min = Number.POSITIVE_INFINITY;
      for (const buckets of lateMinutes.values()) for (const b of buckets) min = Math.min(min, b);
      overflowFromMs = min;
      lateMinutes = new Map();
      lateCount = 0;
    }
  }

  /** Upserts the buckets of `pairs` (machine → bucket starts) of one tier, in statements of bounded size. */
  async function rollupPairs(tier: '1m' | '1h', pairs: ReadonlyArray<readonly [string, number]>): Promise<void> {
    for (let i = 0; i < pairs.length; i += LATE_PAIRS_PER_STATEMENT) {
      const slice = pairs.slice(i, i + LATE_PAIRS_PER_STATEMENT);
      await client.query(tier === '1m' ? LATE_1M_SQL : LATE_1H_SQL, [slice.map((p) => p[0]), slice.map((p) => iso(p[1]))]);
    }
  }

  async function watermark(tier: '1m' | '1h'): Promise<number | undefined> {
    const { rows } = await client.query<{ ms: number }>(
      `SELECT (extract(epoch FROM materialized_until) * 1000)::float8 AS ms FROM history_rollup_state WHERE tier = $1`,
      [tier],
    );
    return rows.length > 0 ? Number(rows[0].ms) : undefined;
  }

  /**
   * Materialises [fromMs, toMs) of one tier in slices, skipping stretches without source rows, and
   * sets the tier's watermark to toMs, also backwards when the clock went back: buckets past the
   * watermark are computed on the fly by queries, so a lower watermark only costs query time.
   */
  async function rollup(tier: '1m' | '1h', fromMs: number, toMs: number): Promise<void> {
    const sql = tier === '1m' ? ROLLUP_1M_SQL : ROLLUP_1H_SQL;
    const source = tier === '1m' ? `SELECT min(time) AS t FROM metrics WHERE time >= $1::timestamptz AND time < $2::timestamptz`
      : `SELECT min(bucket) AS t FROM metrics_1m WHERE bucket >= $1::timestamptz AND bucket < $2::timestamptz`;
    const width = tier === '1m' ? MINUTE_MS : HOUR_MS;
    const setWatermark = (tx: SqlExecutor, ms: number) =>
      tx.query(
        `INSERT INTO history_rollup_state (tier, materialized_until) VALUES ($1, $2::timestamptz)
         ON CONFLICT (tier) DO UPDATE SET materialized_until = EXCLUDED.materialized_until`,
        [tier, iso(ms)],
      );
    let start = fromMs;
    while (start < toMs) {
      const { rows } = await client.query<{ ms: number | null }>(
        `SELECT (extract(epoch FROM t) * 1000)::float8 AS ms FROM (${source}) s`,
        [iso(start), iso(toMs)],
      );
      if (rows[0].ms === null) break;
      start = Math.max(start, floorTo(Number(rows[0].ms), width));
      const end = Math.min(toMs, start + PLAIN_SLICE_MS[tier]);
      await client.transaction(async (tx) => {
        await tx.query(sql, [iso(start), iso(end)]);
        await setWatermark(tx, end);
      });
      start = end;
    }
    await setWatermark(client, toMs);
  }

  async function rollups(nowMs: number): Promise<void> {
    const wasRestarted = restarted;
    const overflow = overflowFromMs;
    const late = lateMinutes;
    restarted = false;
    overflowFromMs = undefined;
    lateMinutes = new Map();
    lateCount = 0;
    try {
      const wm1m = await watermark('1m');
      let from1m: number;
      if (wm1m === undefined) {
        const { rows } = await client.query<{ ms: number | null }>(`SELECT (extract(epoch FROM min(time)) * 1000)::float8 AS ms FROM metrics`);
        if (rows[0].ms === null) return;
        from1m = floorTo(Number(rows[0].ms), MINUTE_MS);
      } else {
        let lateFrom = wasRestarted ? wm1m - PLAIN_RESTART_LOOKBACK_MS : wm1m;
        if (overflow !== undefined) lateFrom = Math.min(lateFrom, overflow);
        from1m = floorTo(Math.min(wm1m, lateFrom), MINUTE_MS);
      }
      const to1m = floorTo(nowMs - PLAIN_ROLLUP_GRACE_MS, MINUTE_MS); // minutes complete for a while only
      await rollup('1m', from1m, to1m);
      // Late minutes behind the range just rolled up: exactly those buckets of those machines.
      const lateMinutePairs: Array<[string, number]> = [];
      for (const [machine, buckets] of late) for (const b of buckets) if (b < from1m) lateMinutePairs.push([machine, b]);
      await rollupPairs('1m', lateMinutePairs);
      const wm1h = await watermark('1h');
      const from1h = floorTo(wm1h === undefined ? from1m : Math.min(wm1h, from1m), HOUR_MS);
      await rollup('1h', from1h, floorTo(to1m, HOUR_MS)); // hours whose minutes are all materialised
      const lateHours = new Map<string, [string, number]>();
      for (const [machine, b] of lateMinutePairs) {
        const hour = floorTo(b, HOUR_MS);
        if (hour < from1h) lateHours.set(`${machine}|${hour}`, [machine, hour]);
      }
      await rollupPairs('1h', [...lateHours.values()]);
    } catch (err) {
      // Not rolled up: put back what was pending so the next maintain() retries it.
      restarted ||= wasRestarted;
      if (overflow !== undefined) overflowFromMs = Math.min(overflowFromMs ?? overflow, overflow);
      for (const [machine, buckets] of late) for (const b of buckets) noteWritten(machine, b);
      throw err;
    }
  }

  return {
    ...commonStore({ path: 'postgres', client, guard: c.guard }, plainQuerySql, {
      written(rows) {
        for (const r of rows) noteWritten(r.machineId, r.timeMs);
      },
    }),
    maintain(nowMs: number): Promise<void> {
      c.guard();
      if (!Number.isFinite(nowMs)) return Promise.reject(new RangeError(`maintain needs a finite nowMs, got ${nowMs}`));
      // One run at a time: an overlapping call waits for the running one and then runs itself.
      const run = async () => {
        await runSteps(
          [
            ['rollups', () => rollups(nowMs)],
            ['raw retention', () => client.query(`DELETE FROM metrics WHERE time < $1::timestamptz`, [iso(nowMs - retention.rawDays * DAY_MS)])],
            ['1m retention', () => client.query(`DELETE FROM metrics_1m WHERE bucket < $1::timestamptz`, [iso(nowMs - retention.oneMinuteDays * DAY_MS)])],
            ['1h retention', () => client.query(`DELETE FROM metrics_1h WHERE bucket < $1::timestamptz`, [iso(nowMs - retention.oneHourDays * DAY_MS)])],
            ...(client.kind === 'pglite' && (vacuumedAtMs === undefined || Math.abs(nowMs - vacuumedAtMs) >= EMBEDDED_VACUUM_INTERVAL_MS)
              ? [
                  [
                    'vacuum',
                    async () => {
                      vacuumedAtMs = nowMs;
                      await client.exec('VACUUM (ANALYZE) metrics, metrics_1m, metrics_1h');
                      await client.exec('CHECKPOINT');
                    },
                  ] as const,
                ]
              : []),
          ],
          options.log,
        );
      };
      const next = (maintaining ?? Promise.resolve()).catch(() => {}).then(run);
      maintaining = next;
      return next;
    },
    close: c.close,
  };
}

