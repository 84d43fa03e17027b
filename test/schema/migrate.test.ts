// Migration files and the schema path: the files and their names, the path a ledger means, and the
// ledger guard against an unknown (newer) migration on the local PostgreSQL.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { createPgClient } from '../../hub/db.ts';
import { METRIC_BOUNDS } from '../../hub/history/sql-history.ts';
import { METRIC_NAMES } from '../../proto/metrics.ts';
import { chooseSchemaPath, loadMigrations, migrate, migrationsFor, type Migration } from '../../schema/migrate.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';
import { captureLog } from '../support/test-log.ts';

describe('migration files', () => {
  test('the repository files: common 0001 and 0003, one 0002 and 0004 per path, common 0005 and 0006, every metric column in the raw table', () => {
    const all = loadMigrations();
    expect(migrationsFor(all, 'timescaledb').map((m) => m.name)).toEqual(['0001_metrics', 'timescale/0002_rollups', '0003_alerts', 'timescale/0004_value_ranges', '0005_public_views', '0006_machine_settings']);
    expect(migrationsFor(all, 'postgres').map((m) => m.name)).toEqual(['0001_metrics', 'postgres/0002_rollups', '0003_alerts', 'postgres/0004_value_ranges', '0005_public_views', '0006_machine_settings']);
    // The CHECK of 0004 holds every metric to the bounds the history store applies before it writes.
    for (const m of all.filter((x) => x.version === 4)) {
      for (const name of METRIC_NAMES) {
        const match = new RegExp(`\\(${name} IS NULL OR ${name} BETWEEN (\\S+) AND (\\S+)\\)`).exec(m.sql);
        expect(match, `${m.name} ${name}`).not.toBeNull();
        expect([Number(match![1]), Number(match![2])], `${m.name} ${name}`).toEqual([...METRIC_BOUNDS[name]]);
      }
    }
    const raw = all.find((m) => m.name === '0001_metrics')!.sql;
    for (const name of METRIC_NAMES) expect(raw).toMatch(new RegExp(`\\b${name} double precision`));
    for (const m of all.filter((x) => x.version === 2)) for (const name of METRIC_NAMES) expect(m.sql).toContain(name);
  });

  test('a badly named file is an error, not skipped', () => {
    const dir = tempDir('schema');
    try {
      writeFileSync(path.join(dir.path, '0001_ok.sql'), 'SELECT 1;');
      mkdirSync(path.join(dir.path, 'postgres'));
      writeFileSync(path.join(dir.path, 'postgres', '2_bad.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir.path)).toThrow(/must be named NNNN_lower_snake_name\.sql/);
    } finally {
      dir.remove();
    }
  });

  test('two files with one version on one path are refused', () => {
    const m = (version: number, name: string, scope: Migration['scope']): Migration => ({ version, name, scope, sql: '' });
    const all = [m(1, '0001_a', 'common'), m(2, '0002_b', 'common'), m(2, 'postgres/0002_c', 'postgres'), m(2, 'timescale/0002_d', 'timescaledb')];
    expect(() => migrationsFor(all, 'postgres')).toThrow(/share version 2/);
    expect(migrationsFor([all[0], all[2], all[3]], 'timescaledb').map((x) => x.name)).toEqual(['0001_a', 'timescale/0002_d']);
  });

  test.each([
    [[], true, 'timescaledb'],
    [[], false, 'postgres'],
    [['0001_metrics'], true, 'timescaledb'],
    [['0001_metrics', 'postgres/0002_rollups'], true, 'postgres'],
    [['0001_metrics', 'timescale/0002_rollups'], true, 'timescaledb'],
  ] as const)('path for ledger %j with timescaledb available=%s → %s', (ledger, available, expected) => {
    expect(chooseSchemaPath(ledger, available)).toBe(expected);
  });

  test('a TimescaleDB database on a server without the extension, or a mixed ledger, is refused', () => {
    expect(() => chooseSchemaPath(['timescale/0002_rollups'], false)).toThrow(/no longer offers the timescaledb extension/);
    expect(() => chooseSchemaPath(['timescale/0002_rollups', 'postgres/0002_rollups'], true)).toThrow(/both/);
  });

  test('a ledger version this hub does not know stops the start with a clear message', async () => {
    const db = await createTestDatabase();
    const client = createPgClient(db.url, { log: captureLog().log });
    try {
      await migrate(client);
      await client.query(`INSERT INTO schema_migrations (version, name) VALUES (99, '0099_from_the_future')`);
      await expect(migrate(client)).rejects.toThrow(/does not know \(0099_from_the_future\); run a newer hub/);
    } finally {
      await client.close();
      await db.drop();
    }
  });
});
