// The HistoryStore contract, one suite run against every storage path (PGlite TimescaleDB, plain
// PostgreSQL). A harness opens a SqlClient on one database; the suite migrates it through
// createSqlHistory and checks what every path must do the same way.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SqlClient } from '../../../hub/db.ts';
import type { HistoryPath, HistoryStore } from '../../../hub/history/history-store.ts';
import { createSqlHistory, PLAIN_ROLLUP_GRACE_MS } from '../../../hub/history/sql-history.ts';
import type { MetricName } from '../../../proto/metrics.ts';
import { loadMigrations, migrate, migrationsFor } from '../../../schema/migrate.ts';
import { row } from '../../support/test-log.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface HistoryHarness {
  /** Opens (again) a client on the suite's database. */
  open(): Promise<SqlClient>;
  /** Called once after the suite, after the client is closed. */
  dispose(): Promise<void>;
}

export function historyContract(path: HistoryPath, label: string, makeHarness: () => Promise<HistoryHarness>): void {
  describe(`${label} (${path} path)`, () => {
    let harness: HistoryHarness;
    let client: SqlClient;
    let store: HistoryStore;
    const suffix = randomBytes(3).toString('hex');
    let counter = 0;
    const machine = () => `m-${suffix}-${++counter}`;

    beforeAll(async () => {
      harness = await makeHarness();
      client = await harness.open();
      store = await createSqlHistory(client);
    });

    afterAll(async () => {
      await store?.close();
      await client?.close();
      await harness?.dispose();
    });

    test('runs the expected storage path', () => {
      expect(store.path).toBe(path);
    });

    test('migrating again applies nothing and keeps one ledger row per version', async () => {
      expect((await migrate(client)).applied).toEqual([]);
      await createSqlHistory(client); // a second hub start on the same database
      const { rows } = await client.query<{ version: number; name: string }>('SELECT version::int AS version, name FROM schema_migrations ORDER BY version');
      const expected = migrationsFor(loadMigrations(), path);
      expect(rows.map((r) => [Number(r.version), r.name])).toEqual(expected.map((m) => [m.version, m.name]));
      expect(expected.some((m) => m.name.startsWith(path === 'timescaledb' ? 'timescale/' : 'postgres/'))).toBe(true);
    });

    test('write then query raw returns the points in time order; nulls are skipped', async () => {
      const id = machine();
      const t0 = Date.now() - 30 * MINUTE_MS;
      const rows = [0, 1, 2, 3, 4].map((i) => row(id, i + 1, t0 + i * 1000, 10 + i));
      rows[2] = { ...rows[2], metrics: { ...rows[2].metrics, cpu_percent: null } };
      await store.write([...rows].reverse());
      expect(await store.query(id, 'cpu_percent', t0, t0 + 10_000, 'raw')).toEqual([
        [t0, 10],
        [t0 + 1000, 11],
        [t0 + 3000, 13],
        [t0 + 4000, 14],
      ]);
      expect(await store.query(id, 'memory_percent', t0 + 1000, t0 + 2000, 'raw')).toEqual([
        [t0 + 1000, 5.5],
        [t0 + 2000, 6],
      ]);
      expect(await store.query('nobody', 'cpu_percent', t0, t0 + 10_000, 'raw')).toEqual([]);
    });

    test('a replay of the same rows (and duplicates inside one batch) is stored once', async () => {
      const id = machine();
      const t0 = Date.now() - 20 * MINUTE_MS;
      const rows = [1, 2, 3].map((s) => row(id, s, t0 + s * 1000, s));
      await store.write(rows);
      await store.write([...rows, rows[0], row(id, 4, t0 + 4000, 4), row(id, 4, t0 + 4000, 4)]);
      const { rows: count } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE machine_id = $1', [id]);
      expect(count[0].n).toBe(4);
      expect((await store.query(id, 'cpu_percent', t0, t0 + 10_000, 'raw')).map((p) => p[1])).toEqual([1, 2, 3, 4]);
    });

    test('ids and values survive the batch encoding exactly (quotes, backslashes, commas, braces; extreme and tiny numbers)', async () => {
      const ids = [`q"${suffix}`, `b\\${suffix}\\`, `c,${suffix}`, `{${suffix}}`, `s ${suffix} NULL`];
      const t0 = Date.now() - 40 * MINUTE_MS;
      const rows = ids.map((id, i) => row(id, 7, t0 + i, 1e-7 * (i + 1), { memory_used_bytes: 2 ** 59 + i * 2 ** 20, temperature_c: -273.15, load_avg_1m: 0.1 + 0.2 }));
      await store.write(rows);
      for (const [i, id] of ids.entries()) {
        expect(await store.lastSeq(id)).toBe(7);
        expect(await store.query(id, 'cpu_percent', t0, t0 + 10, 'raw')).toEqual([[t0 + i, 1e-7 * (i + 1)]]);
        expect(await store.query(id, 'memory_used_bytes', t0, t0 + 10, 'raw')).toEqual([[t0 + i, 2 ** 59 + i * 2 ** 20]]);
        expect(await store.query(id, 'temperature_c', t0, t0 + 10, 'raw')).toEqual([[t0 + i, -273.15]]);
        expect(await store.query(id, 'load_avg_1m', t0, t0 + 10, 'raw')).toEqual([[t0 + i, 0.1 + 0.2]]);
      }
    });

    test('a large write is stored completely', async () => {
      const id = machine();
      const t0 = Date.now() - 3 * HOUR_MS;
      const rows = Array.from({ length: 2500 }, (_, i) => row(id, i + 1, t0 + i * 1000, i % 100));
      await store.write(rows);
      const { rows: count } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE machine_id = $1', [id]);
      expect(count[0].n).toBe(2500);
      expect(await store.lastSeq(id)).toBe(2500);
    });

    test('1m and 1h tiers average the written rows, before and after maintain(), and show fresh rows', async () => {
      const id = machine();
      const hour = Math.floor((Date.now() - 2 * HOUR_MS) / HOUR_MS) * HOUR_MS;
      const a = hour + 5 * MINUTE_MS;
      const b = a + MINUTE_MS;
      await store.write([row(id, 1, a, 10), row(id, 2, a + 30_000, 20), row(id, 3, b, 30), row(id, 4, b + 30_000, 50)]);
      const check = async () => {
        expect(await store.query(id, 'cpu_percent', a, b + 59_000, '1m')).toEqual([
          [a, 15],
          [b, 40],
        ]);
        // A range starting mid-bucket still gets the bucket that overlaps it.
        expect(await store.query(id, 'cpu_percent', a + 45_000, b, '1m')).toEqual([
          [a, 15],
          [b, 40],
        ]);
        expect(await store.query(id, 'cpu_percent', hour, hour + HOUR_MS - 1, '1h')).toEqual([[hour, 27.5]]);
        expect(await store.query(id, 'memory_percent', hour, hour + HOUR_MS - 1, '1h')).toEqual([[hour, 13.75]]);
      };
      await check(); // nothing materialised yet: computed on the fly
      await store.maintain(Date.now());
      await check(); // materialised
      await store.maintain(Date.now());
      await check(); // idempotent

      // A row written after maintenance shows at every step at once.
      const now = Date.now();
      const fresh = now - 5000;
      await store.write([row(id, 5, fresh, 80)]);
      const minute = Math.floor(fresh / MINUTE_MS) * MINUTE_MS;
      expect(await store.query(id, 'cpu_percent', minute, now, '1m')).toEqual([[minute, 80]]);
      const freshHour = Math.floor(fresh / HOUR_MS) * HOUR_MS;
      expect(await store.query(id, 'cpu_percent', freshHour, now, '1h')).toEqual([[freshHour, 80]]);
      expect(await store.query(id, 'cpu_percent', fresh, now, 'raw')).toEqual([[fresh, 80]]);
    });

    test('lastSeq is the highest stored seq, 0 for an unknown machine', async () => {
      const id = machine();
      expect(await store.lastSeq(id)).toBe(0);
      const t0 = Date.now() - 10 * MINUTE_MS;
      await store.write([row(id, 7, t0, 1), row(id, 41, t0 + 1000, 1), row(id, 12, t0 + 2000, 1)]);
      expect(await store.lastSeq(id)).toBe(41);
    });

    test('a metric name outside METRIC_NAMES is rejected before SQL', async () => {
      const t = Date.now();
      for (const bad of ['cpu_percent; DROP TABLE metrics', 'seq', 'machine_id', '']) {
        await expect(store.query('x', bad as MetricName, t - 1000, t, 'raw')).rejects.toThrow(/unknown metric/);
        await expect(store.query('x', bad as MetricName, t - 1000, t, '1m')).rejects.toThrow(/unknown metric/);
      }
      await expect(store.query('x', 'cpu_percent', t - 1000, t, '5m' as '1m')).rejects.toThrow(/unknown history step/);
      await expect(store.write([{ ...row('x', 1.5, t, 1) }])).rejects.toThrow(/invalid seq/);
    });

    if (path === 'postgres') {
      test('plain path: a minute is materialised only PLAIN_ROLLUP_GRACE_MS after it ended, so rows of its last seconds written late count', async () => {
        const id = machine();
        // A minute of the past, with the clock handed to maintain() just after its end.
        const minute = Math.floor((Date.now() - 30 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
        const end = minute + MINUTE_MS;
        await store.maintain(minute - 1); // the watermark before this minute
        await store.write([row(id, 1, minute + 10_000, 10)]);
        await store.maintain(end + 1_000); // within the grace: not materialised yet
        await store.write([row(id, 2, end - 1_000, 30)]); // written after that maintenance
        expect(await store.query(id, 'cpu_percent', minute, end - 1, '1m')).toEqual([[minute, 20]]);
        await store.maintain(end + PLAIN_ROLLUP_GRACE_MS + 1_000);
        expect(await store.query(id, 'cpu_percent', minute, end - 1, '1m')).toEqual([[minute, 20]]);
        await store.maintain(Date.now()); // the watermark back to now for the tests after this one
      });

      test('plain path: maintain() deletes raw rows past retention, rolls them up first, and trims each tier', async () => {
        const id = machine();
        const now = Date.now();
        const old10d = Math.floor((now - 10 * DAY_MS) / HOUR_MS) * HOUR_MS;
        const old100d = Math.floor((now - 100 * DAY_MS) / HOUR_MS) * HOUR_MS;
        const recent = now - 10 * MINUTE_MS;
        await store.write([row(id, 1, old100d, 60), row(id, 2, old10d, 40), row(id, 3, recent, 20)]);
        await store.maintain(now);
        expect(await store.query(id, 'cpu_percent', old100d - DAY_MS, now, 'raw')).toEqual([[recent, 20]]);
        // 10 days old: gone from raw, still in the 1 min and 1 h tiers.
        expect(await store.query(id, 'cpu_percent', old10d, old10d + MINUTE_MS - 1, '1m')).toEqual([[old10d, 40]]);
        // 100 days old: past 1 min retention too, only the hour is kept.
        expect(await store.query(id, 'cpu_percent', old100d, old100d + MINUTE_MS - 1, '1m')).toEqual([]);
        expect(await store.query(id, 'cpu_percent', old100d, old100d + HOUR_MS - 1, '1h')).toEqual([[old100d, 60]]);
        // Two years on, everything is gone.
        await store.maintain(now + 800 * DAY_MS);
        expect(await store.query(id, 'cpu_percent', old100d, now, '1h')).toEqual([]);
        // The clock comes back: the rollup watermark follows, so new rows show in the tiers again.
        await store.maintain(Date.now());
        const t = Date.now() - 1000;
        await store.write([row(id, 4, t, 70)]);
        expect(await store.query(id, 'cpu_percent', t, t, '1m')).toEqual([[Math.floor(t / MINUTE_MS) * MINUTE_MS, 70]]);
        expect(await store.query(id, 'cpu_percent', t, t, '1h')).toEqual([[Math.floor(t / HOUR_MS) * HOUR_MS, 70]]);
      });
    } else {
      test('TimescaleDB path: retention and refresh policies exist with the configured intervals; raw chunks past retention are dropped', async () => {
        const { rows } = await client.query<{ proc: string; rel: string; drop_s: number | null }>(
          `SELECT proc_name AS proc, hypertable_name AS rel, extract(epoch FROM (config->>'drop_after')::interval)::float8 AS drop_s
             FROM timescaledb_information.jobs ORDER BY proc_name, hypertable_name`,
        );
        const retention = rows.filter((r) => r.proc === 'policy_retention').map((r) => [r.rel, Number(r.drop_s) / 86_400]);
        expect(retention).toEqual([
          ['metrics', 7],
          ['metrics_1h', 730],
          ['metrics_1m', 90],
        ]);
        expect(rows.filter((r) => r.proc === 'policy_refresh_continuous_aggregate').map((r) => r.rel)).toEqual(['metrics_1h', 'metrics_1m']);
        expect(rows.filter((r) => r.proc === 'policy_compression').map((r) => r.rel)).toEqual(['metrics']);

        const id = machine();
        const now = Date.now();
        await store.write([row(id, 1, now - 12 * DAY_MS, 60), row(id, 2, now - 10 * MINUTE_MS, 20)]);
        expect(await store.query(id, 'cpu_percent', now - 13 * DAY_MS, now, 'raw')).toHaveLength(2);
        await store.maintain(now);
        expect(await store.query(id, 'cpu_percent', now - 13 * DAY_MS, now, 'raw')).toEqual([[now - 10 * MINUTE_MS, 20]]);
      });

      test('TimescaleDB path: other retention options replace the policies at the next start', async () => {
        await createSqlHistory(client, { retention: { rawDays: 3, oneMinuteDays: 30, oneHourDays: 365 } });
        const drops = async () =>
          (
            await client.query<{ rel: string; d: number }>(
              `SELECT hypertable_name AS rel, (extract(epoch FROM (config->>'drop_after')::interval) / 86400)::float8 AS d
                 FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' ORDER BY 1`,
            )
          ).rows.map((r) => [r.rel, Number(r.d)]);
        expect(await drops()).toEqual([
          ['metrics', 3],
          ['metrics_1h', 365],
          ['metrics_1m', 30],
        ]);
        await createSqlHistory(client); // back to the defaults
        expect(await drops()).toEqual([
          ['metrics', 7],
          ['metrics_1h', 730],
          ['metrics_1m', 90],
        ]);
      });
    }

    test('history survives closing and reopening the database; writes work after reopening', async () => {
      const id = machine();
      const t0 = Date.now() - 15 * MINUTE_MS;
      await store.write([row(id, 1, t0, 33)]);
      await store.close();
      await client.close();
      await client.close(); // idempotent
      client = await harness.open();
      store = await createSqlHistory(client);
      expect(await store.query(id, 'cpu_percent', t0, t0 + 1000, 'raw')).toEqual([[t0, 33]]);
      await store.write([row(id, 2, t0 + 1000, 44)]);
      expect(await store.lastSeq(id)).toBe(2);
      expect(await store.query(id, 'cpu_percent', t0, t0 + 1000, 'raw')).toEqual([
        [t0, 33],
        [t0 + 1000, 44],
      ]);
    });

    test('ping answers; a closed store refuses work', async () => {
      expect(await store.ping()).toBe(true);
      const second = await createSqlHistory(client);
      await second.close();
      expect(await second.ping()).toBe(false);
      await expect(second.write([row('x', 1, Date.now(), 1)])).rejects.toThrow(/closed/);
      expect(await store.ping()).toBe(true); // closing a store leaves the client to its owner
    });
  });
}

