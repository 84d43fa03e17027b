// Migration files, path choice, policy derivation and database error conversion: pure parts as
// tables; the ledger guard against an unknown (newer) migration on the local PostgreSQL.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { createPgClient, describeDatabaseUrl, toDatabaseError } from '../../hub/db.ts';
import { timescalePolicies } from '../../hub/history/timescale-policies.ts';
import { METRIC_BOUNDS, resolveRetention } from '../../hub/history/sql-history.ts';
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

describe('TimescaleDB policies from retention options', () => {
  test('defaults: refresh windows end inside the source retention', () => {
    expect(timescalePolicies(resolveRetention(undefined))).toEqual([
      { kind: 'refresh', relation: 'metrics_1m', startOffsetSeconds: 7 * 86_400 - 3600, endOffsetSeconds: 60, scheduleSeconds: 60 },
      { kind: 'refresh', relation: 'metrics_1h', startOffsetSeconds: 90 * 86_400 - 3600, endOffsetSeconds: 3600, scheduleSeconds: 1800 },
      { kind: 'retention', relation: 'metrics', dropAfterSeconds: 7 * 86_400 },
      { kind: 'retention', relation: 'metrics_1m', dropAfterSeconds: 90 * 86_400 },
      { kind: 'retention', relation: 'metrics_1h', dropAfterSeconds: 730 * 86_400 },
    ]);
  });

  test('retention options are validated', () => {
    expect(() => resolveRetention({ rawDays: 0 })).toThrow(/rawDays must be a positive number/);
    expect(() => resolveRetention({ rawDays: 100 })).toThrow(/must not shrink/);
    expect(resolveRetention({ oneHourDays: 3650 })).toEqual({ rawDays: 7, oneMinuteDays: 90, oneHourDays: 3650 });
  });
});

describe('database errors', () => {
  test.each([
    [{ message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' }, true, /ctx: connect ECONNREFUSED 127\.0\.0\.1:1 \[ECONNREFUSED\]/],
    [new Error('Connection terminated unexpectedly'), true, /ctx: Connection terminated unexpectedly$/],
    [{ message: 'terminating connection due to administrator command', code: '57P01' }, true, /\[57P01\]/],
    [{ message: 'could not serialize access', code: '40001' }, true, /\[40001\]/],
    [{ message: 'duplicate key value', code: '23505', detail: 'Key (x)=(1) already exists.' }, false, /duplicate key value \(Key \(x\)=\(1\) already exists\.\) \[23505\]/],
    [{ message: 'relation "nope" does not exist', code: '42P01', hint: 'create it' }, false, /\(hint: create it\) \[42P01\]/],
    [new Error('PGlite is closed'), false, /PGlite is closed/],
  ])('%o → retryable %s', (err, retryable, message) => {
    const e = toDatabaseError(err, 'ctx');
    expect(e.retryable).toBe(retryable);
    expect(e.message).toMatch(message);
    expect(e.cause).toBe(err);
    expect(toDatabaseError(e, 'other')).toBe(e);
  });

  test('a URL is described without its password', () => {
    expect(describeDatabaseUrl('postgres://u:secret@db.lan:6543/hist')).toBe('db.lan:6543/hist');
    expect(describeDatabaseUrl('postgres://db.lan/hist')).toBe('db.lan:5432/hist');
    expect(describeDatabaseUrl('not a url')).not.toContain('not a url');
  });

  test('an unreachable server fails with a retryable error naming the host, not the password', async () => {
    const client = createPgClient('postgres://postgres:hunter2@127.0.0.1:1/test', { log: captureLog().log, connectTimeoutMs: 1000 });
    const err = await client.query('SELECT 1').then(() => undefined, (e: unknown) => e as Error & { retryable: boolean });
    await client.close();
    expect(err?.message).toMatch(/PostgreSQL 127\.0\.0\.1:1\/test: SELECT 1: .*ECONNREFUSED/);
    expect(err?.message).not.toContain('hunter2');
    expect(err?.retryable).toBe(true);
  });
});
