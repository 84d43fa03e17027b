// The hub's embedded default: upstream @electric-sql/pglite (PostgreSQL 18, no TimescaleDB) on the
// plain PostgreSQL path with hub-maintained rollups. The whole history contract, and what is
// particular to it: the engine it opens, the VACUUM that maintain() runs because PGlite has no
// autovacuum, and the refusal of a data directory of another PostgreSQL major (an earlier sysmonstm's).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { IncompatibleDataDirError, openPgliteClient, UPSTREAM_PG_MAJOR } from '../../../hub/db.ts';
import { openHistory } from '../../../hub/history/open-history.ts';
import { tempDir } from '../../support/servers.ts';
import { historyContract } from './history-store-contract.ts';
import { captureLog, row } from '../../support/test-log.ts';

historyContract('postgres', 'embedded PGlite (upstream)', async () => {
  const dir = tempDir('history-upstream');
  const { log } = captureLog();
  return {
    open: () => openPgliteClient(dir.path, { log }),
    dispose: async () => dir.remove(),
  };
});

describe('the embedded default', () => {
  const dirs: Array<{ remove(): void }> = [];
  afterAll(() => dirs.forEach((d) => d.remove()));

  test('openHistory without a URL: upstream PGlite, PostgreSQL 18, plain path, no timescaledb available', async () => {
    const dir = tempDir('embedded-open');
    dirs.push(dir);
    const { log, lines } = captureLog();
    const { store, client, database } = await openHistory({ dataDir: dir.path, log });
    try {
      expect(client.kind).toBe('pglite');
      expect(client.engine).toBe('@electric-sql/pglite');
      expect(store.path).toBe('postgres');
      expect(database).toMatchObject({ kind: 'embedded', engine: '@electric-sql/pglite', path: 'postgres' });
      expect(database.version).toMatch(new RegExp(`^PostgreSQL ${UPSTREAM_PG_MAJOR}\\.\\d+ \\(PGlite 0\\.5\\.\\d+\\)$`));
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`);
      expect(rows[0].n).toBe(0);
      expect(lines().map((l) => l.msg)).toContain('history: plain PostgreSQL (no timescaledb extension)');
    } finally {
      await store.close();
      await client.close();
    }
  }, 120_000);

  test('maintain() vacuums: the space of rows past retention is reused, the table does not grow', async () => {
    const dir = tempDir('embedded-vacuum');
    dirs.push(dir);
    const { log } = captureLog();
    const { store, client } = await openHistory({ dataDir: dir.path, log, retention: { rawDays: 1 } });
    try {
      const now = Date.now();
      const batch = (seq0: number, t0: number) => Array.from({ length: 5000 }, (_, i) => row('vac', seq0 + i, t0 + i * 1000, i % 100));
      const heap = async () => Number((await client.query<{ b: number }>(`SELECT pg_relation_size('metrics')::float8 AS b`)).rows[0].b);
      await store.write(batch(1, now - 3 * 86_400_000));
      const full = await heap();
      await store.maintain(now); // rolls up, deletes the 5,000 rows (past 1 day), VACUUMs
      expect(await store.query('vac', 'cpu_percent', now - 4 * 86_400_000, now, 'raw')).toEqual([]);
      await store.write(batch(10_001, now - 2 * 3_600_000));
      expect(await store.query('vac', 'cpu_percent', now - 4 * 86_400_000, now, 'raw')).toHaveLength(5000);
      // Without the VACUUM the new rows would go after the dead ones: twice the size.
      expect(await heap()).toBeLessThanOrEqual(full * 1.1);
    } finally {
      await store.close();
      await client.close();
    }
  }, 120_000);

  test('a data directory of another PostgreSQL major is refused before opening, named', async () => {
    const dir = tempDir('embedded-pg17');
    dirs.push(dir);
    const pgdata = path.join(dir.path, 'pgdata');
    mkdirSync(pgdata, { recursive: true });
    writeFileSync(path.join(pgdata, 'PG_VERSION'), '17\n');
    const { log } = captureLog();
    const err = await openHistory({ dataDir: dir.path, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleDataDirError);
    expect(err).toMatchObject({ dataDir: pgdata, found: '17', expected: UPSTREAM_PG_MAJOR });
  });
});
