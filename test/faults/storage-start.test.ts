// Storage trouble at start, with the real CLI: a read-only DATA_DIR, a DATA_DIR that is a file, a
// truncated embedded database and an earlier version's embedded TimescaleDB (another PostgreSQL
// major) each end in one line naming DATA_DIR and exit code 2 (not a stack trace and exit 1). And a running hub whose history cannot be read (its table gone) answers /ready 503
// while `SELECT 1` still works, then ready again once reads work.
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub } from '../../hub/hub.ts';
import { openHistory } from '../../hub/history/open-history.ts';
import { runCli } from '../support/hub-process.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';
import { timescalePglite } from '../support/timescale-pglite.ts';
import { row } from '../support/test-log.ts';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Starts `sysmonstm hub` and waits for it to exit by itself. */
async function startExpectingExit(env: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const cli = runCli(['hub'], { HTTP_PORT: '0', GRPC_PORT: '0', ...env });
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => resolve('still running'), 60_000);
    cli.child.once('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? sig ?? 'unknown');
    });
  });
  if (code === 'still running') await cli.stop('SIGKILL');
  return { code, output: cli.output() };
}

function expectOneLine(output: string, message: RegExp): void {
  const lines = output.trim().split('\n').filter((l) => !l.startsWith('{')); // JSON log lines from before the failure are fine
  expect(lines, output).toHaveLength(1);
  expect(lines[0]).toMatch(/^sysmonstm hub: DATA_DIR: /);
  expect(lines[0]).toMatch(message);
  expect(output).not.toMatch(/\n\s+at /); // no stack trace
}

describe('storage trouble at start', () => {
  it('a read-only DATA_DIR: one line naming DATA_DIR, exit 2', async () => {
    const { code, output } = await startExpectingExit({ DATA_DIR: '/sys/kernel' });
    expect(code).toBe(2);
    expectOneLine(output, /\/sys\/kernel is (not writable|on a read-only file system)/);
  }, 70_000);

  it('a DATA_DIR that is a file: one line, exit 2', async () => {
    const dir = tempDir('storage-file');
    cleanups.push(() => dir.remove());
    const file = path.join(dir.path, 'not-a-dir');
    writeFileSync(file, 'x');
    const { code, output } = await startExpectingExit({ DATA_DIR: file });
    expect(code).toBe(2);
    expectOneLine(output, /is not a directory/);
  }, 70_000);

  it('a truncated embedded database: one line naming DATA_DIR, exit 2', async () => {
    const dir = tempDir('storage-truncated');
    cleanups.push(() => dir.remove());
    const hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path }), { log: pino({ level: 'silent' }) });
    await hub.close();
    // Cut every catalog file in half, as a copy or a disk that stopped midway would.
    const global = path.join(dir.path, 'pgdata', 'global');
    for (const name of readdirSync(global)) {
      const file = path.join(global, name);
      if (statSync(file).isFile()) truncateSync(file, Math.floor(statSync(file).size / 2));
    }
    const { code, output } = await startExpectingExit({ DATA_DIR: dir.path });
    expect(code).toBe(2);
    expectOneLine(output, /the embedded database in .*pgdata cannot be opened/);
  }, 120_000);

  it("an earlier version's embedded TimescaleDB (PostgreSQL 17): one line naming DATA_DIR, exit 2, the files untouched", async () => {
    const dir = tempDir('storage-fork');
    cleanups.push(() => dir.remove());
    // What an earlier sysmonstm left in DATA_DIR: the TimescaleDB build of PGlite, migrated, with history.
    const old = await openHistory({ dataDir: dir.path, log: pino({ level: 'silent' }), embeddedEngine: timescalePglite });
    await old.store.write([row('old-1', 1, Date.now() - 60_000, 42)]);
    await old.store.close();
    await old.client.close();
    const pgVersion = path.join(dir.path, 'pgdata', 'PG_VERSION');
    expect(readFileSync(pgVersion, 'utf8').trim()).toBe('17');
    const { code, output } = await startExpectingExit({ DATA_DIR: dir.path });
    expect(code).toBe(2);
    expectOneLine(output, /the embedded database in .*pgdata was written by an earlier sysmonstm \(PGlite with TimescaleDB, PostgreSQL 17\); this hub's embedded database is PostgreSQL 18 .*Move .*pgdata aside/);
    expect(readFileSync(pgVersion, 'utf8').trim()).toBe('17');
  }, 120_000);
});

describe('/ready while history reads fail', () => {
  it('answers 503 while the history table cannot be read, 200 again once it can', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const dir = tempDir('storage-ready');
    cleanups.push(() => dir.remove());
    const hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: db.url }), { log: pino({ level: 'silent' }) });
    cleanups.push(() => hub.close());
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${hub.httpPort}/ready`);
      return { status: res.status, body: (await res.json()) as { checks: Record<string, boolean> } };
    };
    expect((await ready()).status).toBe(200);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    await admin.query('ALTER TABLE metrics RENAME TO metrics_away');
    const broken = await ready();
    expect(broken.status).toBe(503);
    expect(broken.body.checks).toMatchObject({ history: false, state: true });
    await admin.query('ALTER TABLE metrics_away RENAME TO metrics');
    expect((await ready()).status).toBe(200);
  }, 60_000);
});
