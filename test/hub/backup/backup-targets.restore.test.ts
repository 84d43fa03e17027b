// Backups that restore: real history written through the store, a real backup taken by the scheduler,
// then restored the way docs/operations.md says and compared row for row.
//   - TIMESCALE_URL: pg_dump --format=custom of a test database on the local PostgreSQL, pg_restore into
//     another new database; the hub opens the restored copy and knows every machine's last seq.
//   - Embedded: the PGlite data directory tarball, extracted into an empty DATA_DIR/pgdata and opened.
// Plus the failure paths: a database that does not exist, and a pg_dump stopped by close().
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { createBackupScheduler } from '../../../hub/backup/backup-scheduler.ts';
import { embeddedTarget, pgDumpTarget } from '../../../hub/backup/backup-targets.ts';
import type { SqlClient } from '../../../hub/db.ts';
import type { HistoryStore } from '../../../hub/history/history-store.ts';
import { openHistory } from '../../../hub/history/open-history.ts';
import { createTestDatabase, tempDir } from '../../support/servers.ts';
import { captureLog, row } from '../../support/test-log.ts';

const run = promisify(execFile);
const MINUTE = 60_000;
const TABLES = ['metrics', 'metrics_1m', 'metrics_1h', 'schema_migrations'];

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** 2 machines × 150 rows a minute apart (2.5 h): raw rows, 1 min and 1 h buckets to compare. */
async function fillHistory(store: HistoryStore, endMs: number): Promise<void> {
  const rows = [];
  for (const machine of ['backup-a', 'backup-b']) {
    for (let i = 1; i <= 150; i++) rows.push(row(machine, i, endMs - (150 - i) * MINUTE, (i * 7) % 100));
  }
  await store.write(rows);
  await store.maintain(endMs);
}

async function counts(client: Pick<SqlClient, 'query'>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  out.cpuSum = Number((await client.query<{ s: string }>('SELECT sum(cpu_percent) AS s FROM metrics')).rows[0].s);
  return out;
}

describe('TIMESCALE_URL: pg_dump, then pg_restore into a new database', () => {
  test('restores every row; the hub opens the copy and resumes each machine after its last seq', async () => {
    const source = await createTestDatabase();
    cleanups.push(() => source.drop());
    const dir = tempDir('backup-pg');
    cleanups.push(() => dir.remove());
    const { log } = captureLog();
    const { store, client } = await openHistory({ timescaleUrl: source.url, dataDir: dir.path, log });
    const endMs = Date.now() - 5 * MINUTE;
    let before: Record<string, number>;
    try {
      await fillHistory(store, endMs);
      before = await counts(client);
      expect(before).toMatchObject({ metrics: 300, schema_migrations: expect.any(Number) });
      // Materialised rollups (complete buckets only, on this plain PostgreSQL path): there is something to compare.
      expect(before.metrics_1m).toBeGreaterThan(250);
      expect(before.metrics_1h).toBeGreaterThanOrEqual(2);

      const scheduler = createBackupScheduler({ target: pgDumpTarget(source.url), dir: path.join(dir.path, 'backups'), intervalMs: 0, keep: 3, log });
      const result = await scheduler.runNow();
      await scheduler.close();
      expect(path.basename(result.file)).toMatch(/^sysmonstm-\d{8}T\d{6}Z\.dump$/);
      expect(result.bytes).toBeGreaterThan(1000);

      // docs/operations.md: restore into a new, empty database.
      const target = await createTestDatabase();
      cleanups.push(() => target.drop());
      await run('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${target.url}`, result.file]);
      const restored = await openHistory({ timescaleUrl: target.url, dataDir: dir.path, log });
      try {
        expect(await counts(restored.client)).toEqual(before);
        expect(await restored.store.lastSeq('backup-a')).toBe(150);
        expect(await restored.store.query('backup-b', 'cpu_percent', endMs - 1, endMs + 1, 'raw')).toEqual([[endMs, (150 * 7) % 100]]);
      } finally {
        await restored.store.close();
        await restored.client.close();
      }
    } finally {
      await store.close();
      await client.close();
    }
  });

  test('a database that does not exist: the run fails with pg_dump’s own message, leaves nothing behind', async () => {
    const dir = tempDir('backup-pg-missing');
    cleanups.push(() => dir.remove());
    const { log } = captureLog();
    const scheduler = createBackupScheduler({
      target: pgDumpTarget('postgres://postgres:secret@127.0.0.1:5432/sysmonstm_no_such_database'),
      dir: dir.path,
      intervalMs: 0,
      keep: 3,
      log,
    });
    const failure = await scheduler.runNow().catch((err: Error) => err);
    expect(String(failure)).toMatch(/pg_dump failed \(exit 1\): .*sysmonstm_no_such_database.*does not exist/s);
    expect(String(failure)).not.toContain('secret');
    expect(readdirSync(dir.path)).toEqual([]);
    expect(scheduler.stats().failed).toBe(1);
    await scheduler.close();
  });

  test('close() stops a running pg_dump and removes its partial file', async () => {
    const dir = tempDir('backup-pg-abort');
    cleanups.push(() => dir.remove());
    // Stands in for a pg_dump of a big database: writes part of its file, then takes its time.
    const slow = path.join(dir.path, 'slow-pg-dump');
    writeFileSync(slow, '#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) echo partial > "${a#--file=}";; esac; done\nexec sleep 30\n');
    chmodSync(slow, 0o755);
    const backups = path.join(dir.path, 'backups');
    const { log } = captureLog();
    const scheduler = createBackupScheduler({ target: pgDumpTarget('postgres://127.0.0.1/x', { pgDumpPath: slow }), dir: backups, intervalMs: 0, keep: 3, log });
    const running = scheduler.runNow().catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 300));
    expect(readdirSync(backups).some((n) => n.endsWith('.partial'))).toBe(true);
    const started = Date.now();
    await scheduler.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(String(await running)).toMatch(/shutting down/);
    expect(readdirSync(backups)).toEqual([]);
  });

  test('pg_dump missing from PATH is named in the error', async () => {
    const dir = tempDir('backup-pg-nobinary');
    cleanups.push(() => dir.remove());
    const { log } = captureLog();
    const scheduler = createBackupScheduler({ target: pgDumpTarget('postgres://127.0.0.1/x', { pgDumpPath: '/nonexistent/pg_dump' }), dir: dir.path, intervalMs: 0, keep: 3, log });
    await expect(scheduler.runNow()).rejects.toThrow(/\/nonexistent\/pg_dump not found: install the PostgreSQL client tools/);
    await scheduler.close();
  });
});

describe('embedded PGlite: the data directory as a tarball', () => {
  test('extracted into an empty DATA_DIR/pgdata, it opens with every row', async () => {
    const dir = tempDir('backup-pglite');
    cleanups.push(() => dir.remove());
    const dataDir = path.join(dir.path, 'data');
    const { log } = captureLog();
    const { store, client } = await openHistory({ dataDir, log });
    const endMs = Date.now() - 5 * MINUTE;
    let before: Record<string, number>;
    let file: string;
    try {
      await fillHistory(store, endMs);
      before = await counts(client);
      expect(before.metrics).toBe(300);
      const scheduler = createBackupScheduler({ target: embeddedTarget(client, dataDir), dir: path.join(dataDir, 'backups'), intervalMs: 0, keep: 3, log });
      // A write racing the backup is not lost: it runs before or after the copy, never inside it.
      const [result] = await Promise.all([scheduler.runNow(), store.write([row('backup-c', 1, endMs, 1)])]);
      await scheduler.close();
      file = result.file;
      expect(path.basename(file)).toMatch(/^sysmonstm-\d{8}T\d{6}Z\.tar\.gz$/);
      expect(await store.lastSeq('backup-c')).toBe(1);
    } finally {
      await store.close();
      await client.close();
    }

    // docs/operations.md: stop the hub, extract into an empty pgdata, start it.
    const restoredDir = path.join(dir.path, 'restored');
    mkdirSync(path.join(restoredDir, 'pgdata'), { recursive: true });
    await run('tar', ['-xzf', file, '-C', path.join(restoredDir, 'pgdata')]);
    const restored = await openHistory({ dataDir: restoredDir, log });
    try {
      const after = await counts(restored.client);
      // The racing row is either in the copy or not; everything written before the backup is.
      const racing = await restored.store.lastSeq('backup-c');
      expect(racing === 0 || racing === 1).toBe(true);
      expect({ ...after, metrics: after.metrics - racing, cpuSum: after.cpuSum - racing }).toEqual({ ...before, metrics_1m: after.metrics_1m, metrics_1h: after.metrics_1h });
      expect(after.metrics_1m).toBeGreaterThanOrEqual(before.metrics_1m);
      expect(await restored.store.lastSeq('backup-b')).toBe(150);
    } finally {
      await restored.store.close();
      await restored.client.close();
    }
  }, 90_000); // two opens of the embedded database (the first one runs initdb), a few seconds each, slower on a busy machine
});
