// Hostile values against history, on both storage paths (plain PostgreSQL on the local server, and the
// embedded PGlite TimescaleDB build): one machine's extreme-but-valid values, and values no report may
// carry (1e308 bytes), never break another machine's 1 m / 1 h history or the rollup maintenance; the
// database itself refuses such a value (CHECK of 0004_value_ranges.sql). And on plain PostgreSQL one
// old row makes the next maintenance recompute its own bucket only, not the whole fleet's range.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPgClient, openPgliteClient, type SqlClient } from '../../../hub/db.ts';
import { timescalePglite } from '../../support/timescale-pglite.ts';
import type { HistoryStore } from '../../../hub/history/history-store.ts';
import { createSqlHistory, METRIC_BOUNDS } from '../../../hub/history/sql-history.ts';
import { METRIC_NAMES, type Metrics } from '../../../proto/metrics.ts';
import { createTestDatabase, tempDir } from '../../support/servers.ts';
import { captureLog, row } from '../../support/test-log.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

const harnesses = [
  {
    label: 'plain PostgreSQL',
    async open() {
      const db = await createTestDatabase();
      return { client: createPgClient(db.url, { log: captureLog().log }), dispose: () => db.drop() };
    },
  },
  {
    label: 'PGlite TimescaleDB build',
    async open() {
      const dir = tempDir('hostile-pglite');
      return { client: await openPgliteClient(dir.path, { log: captureLog().log, engine: timescalePglite }), dispose: async () => dir.remove() };
    },
  },
];

/** The largest value every metric may hold. */
const extremes = Object.fromEntries(METRIC_NAMES.map((n) => [n, METRIC_BOUNDS[n][1]])) as Metrics;

for (const harness of harnesses) {
  describe(`${harness.label}: values at and beyond the physical ranges`, () => {
    let client: SqlClient;
    let store: HistoryStore;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ client, dispose } = await harness.open());
      store = await createSqlHistory(client);
    }, 60_000);

    afterAll(async () => {
      await store?.close();
      await client?.close();
      await dispose?.();
    });

    test('the database refuses a value out of range; the store writes it as no value; nobody’s rollups break', async () => {
      await expect(client.query(`INSERT INTO metrics (time, machine_id, seq, memory_used_bytes) VALUES (now(), 'direct', 1, 1e308)`)).rejects.toThrow(/metrics_values_in_range/);

      const now = Date.now();
      const t0 = Math.floor((now - 3 * HOUR_MS) / HOUR_MS) * HOUR_MS;
      const rows = [];
      for (let i = 0; i < 150; i++) {
        const t = t0 + i * MINUTE_MS;
        rows.push(row('normal-1', i + 1, t, 20, { memory_used_bytes: 4e9 }));
        rows.push(row('extreme-1', i + 1, t, 100, { ...extremes, cpu_percent: 100 }));
        // What no report may carry, written anyway (an older hub, a bug): stored without the value.
        rows.push(row('poison-1', i + 1, t, 50, { memory_used_bytes: 1e308, uptime_seconds: 1e308, load_avg_1m: 1e300, temperature_c: -1e300 }));
      }
      await store.write(rows);
      expect(await store.query('poison-1', 'memory_used_bytes', t0, now, 'raw')).toEqual([]);
      await store.maintain(now);
      await store.maintain(now + MINUTE_MS);

      for (const step of ['1m', '1h'] as const) {
        const normal = await store.query('normal-1', 'memory_used_bytes', t0, now, step);
        expect(normal.length, step).toBeGreaterThan(0);
        expect(normal.every(([, v]) => v === 4e9), step).toBe(true);
        const extreme = await store.query('extreme-1', 'memory_used_bytes', t0, now, step);
        expect(extreme.every(([, v]) => v === 2 ** 60), step).toBe(true);
        for (const metric of METRIC_NAMES) await store.query('extreme-1', metric, t0, now, step); // none overflows
        expect(await store.query('poison-1', 'cpu_percent', t0, now, step)).not.toEqual([]);
        expect(await store.query('poison-1', 'memory_used_bytes', t0, now, step)).toEqual([]);
      }
    }, 60_000);
  });
}

describe('plain PostgreSQL: one old row recomputes its own buckets only', () => {
  let client: SqlClient;
  let store: HistoryStore;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ client, dispose } = await harnesses[0].open());
    store = await createSqlHistory(client);
  });

  afterAll(async () => {
    await store?.close();
    await client?.close();
    await dispose?.();
  });

  /** Rows of a rollup table written by transactions after `sinceXid`. */
  const touched = async (table: string, sinceXid: number) =>
    Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE xmin::text::bigint > $1`, [sinceXid])).rows[0].n);

  test('20 machines × 3 h of minutes, then one row 2.5 h old: 1 minute and 1 hour bucket upserted', async () => {
    const now = Date.now();
    const start = Math.floor((now - 3 * HOUR_MS) / MINUTE_MS) * MINUTE_MS;
    const rows = [];
    for (let m = 0; m < 20; m++) for (let i = 0; i < 180; i++) rows.push(row(`fleet-${m}`, i + 1, start + i * MINUTE_MS + 1000, 10 + m));
    await store.write(rows);
    await store.maintain(now);
    const before1m = Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM metrics_1m`)).rows[0].n);
    expect(before1m).toBeGreaterThanOrEqual(20 * 170);

    const late = now - 2.5 * HOUR_MS;
    await store.write([row('fleet-3', 10_000, late, 99)]);
    const xid = Number((await client.query<{ x: string }>(`SELECT txid_current()::text AS x`)).rows[0].x) % 2 ** 32;
    await store.maintain(now);
    expect(await touched('metrics_1m', xid)).toBe(1);
    expect(await touched('metrics_1h', xid)).toBe(1);
    // And the bucket is right: the late row is averaged in.
    const bucket = Math.floor(late / MINUTE_MS) * MINUTE_MS;
    const [[t, v]] = await store.query('fleet-3', 'cpu_percent', bucket, bucket + MINUTE_MS - 1, '1m');
    expect(t).toBe(bucket);
    expect(v).toBeCloseTo((13 + 99) / 2, 5);
    // Another machine's same minute is untouched and still right.
    expect(await store.query('fleet-4', 'cpu_percent', bucket, bucket + MINUTE_MS - 1, '1m')).toEqual([[bucket, 14]]);
  }, 60_000);
});
