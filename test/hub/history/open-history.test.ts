// openHistory picks the storage from the configuration and says which path runs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { openHistory } from '../../../hub/history/open-history.ts';
import { createTestDatabase, tempDir } from '../../support/servers.ts';
import { timescalePglite } from '../../support/timescale-pglite.ts';
import { captureLog, row } from '../../support/test-log.ts';

test('a URL without the timescaledb extension runs the plain PostgreSQL path and logs it', async () => {
  const db = await createTestDatabase();
  const { log, lines } = captureLog();
  const { store, client } = await openHistory({ timescaleUrl: db.url, dataDir: '/nonexistent', log });
  try {
    expect(client.kind).toBe('pg');
    expect(store.path).toBe('postgres');
    expect(lines().map((l) => l.msg)).toContain('history: plain PostgreSQL (no timescaledb extension)');
    expect(JSON.stringify(lines())).not.toContain('postgres@');
  } finally {
    await store.close();
    await client.close();
    await db.drop();
  }
});

test('without a URL the embedded PGlite opens in <dataDir>/pgdata; with the TimescaleDB build it takes that path', async () => {
  const dir = tempDir('open-history');
  const { log, lines } = captureLog();
  const { store, client } = await openHistory({ dataDir: dir.path, log, retention: { rawDays: 2 }, embeddedEngine: timescalePglite });
  try {
    expect(client.kind).toBe('pglite');
    expect(store.path).toBe('timescaledb');
    expect(existsSync(path.join(dir.path, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(lines().some((l) => /^history: TimescaleDB 2\.\d+/.test(String(l.msg)))).toBe(true);
    const { rows } = await client.query<{ d: number }>(
      `SELECT (extract(epoch FROM (config->>'drop_after')::interval) / 86400)::float8 AS d FROM timescaledb_information.jobs
        WHERE proc_name = 'policy_retention' AND hypertable_name = 'metrics'`,
    );
    expect(rows.map((r) => Number(r.d))).toEqual([2]);
    const t = Date.now();
    await store.write([row('embedded', 1, t, 5)]);
    expect(await store.query('embedded', 'cpu_percent', t - 1, t + 1, 'raw')).toEqual([[t, 5]]);
  } finally {
    await store.close();
    await client.close();
    dir.remove();
  }
});

test('a URL that cannot be reached fails the start with a clear, password-free error', async () => {
  const { log } = captureLog();
  await expect(openHistory({ timescaleUrl: 'postgres://u:pw@127.0.0.1:1/x', dataDir: '/nonexistent', log })).rejects.toThrow(
    /^PostgreSQL 127\.0\.0\.1:1\/x: .*ECONNREFUSED(?!.*pw@)/,
  );
});
