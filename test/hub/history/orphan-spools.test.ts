// hub/history/orphan-spools.ts: spools of hub processes that no longer run (HUB_PROCESSES lowered while
// the database was away). Real PostgreSQL (plain path) behind a TCP proxy the test cuts: batches
// spooled by "process 3" while the database is away are replayed by process 1's adoption once it is
// back, counted in lastSeq meanwhile, and the directory is removed; spools of running processes are
// left alone (pure choice of directories).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SqlClient } from '../../../hub/db.ts';
import { openHistorySpool } from '../../../hub/history/history-spool.ts';
import type { HistoryStore } from '../../../hub/history/history-store.ts';
import { adoptOrphanSpools, orphanSpoolDirs } from '../../../hub/history/orphan-spools.ts';
import { openProxiedHistory, type ProxiedHistory } from '../../support/proxied-history.ts';
import { waitFor } from '../../support/servers.ts';
import { captureLog, row, type TcpProxy } from '../../support/test-log.ts';

describe('orphanSpoolDirs (pure)', () => {
  test.each([
    [['history-spool', 'history-spool-2', 'history-spool-3', 'alert-state.json'], 2, ['history-spool-3']],
    [['history-spool-10', 'history-spool-2', 'history-spool-3'], 1, ['history-spool-2', 'history-spool-3', 'history-spool-10']],
    [['history-spool-2', 'history-spool-3'], 3, []],
    [['history-spool-1', 'history-spool-x', 'history-spool-0002x', 'history-spool'], 1, []],
  ])('%j with %i processes', (names, count, expected) => {
    expect(orphanSpoolDirs(names, count)).toEqual(expected);
  });
});

describe('adopted spools', () => {
  let history: ProxiedHistory;
  let proxy: TcpProxy;
  let client: SqlClient;
  let store: HistoryStore;
  const captured = captureLog();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sysmonstm-orphan-spools-'));

  beforeAll(async () => {
    history = await openProxiedHistory(captured.log);
    ({ proxy, client, store } = history);
  });
  afterAll(async () => {
    await history?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('replayed once the database is back, counted in lastSeq meanwhile, then removed; running processes’ spools untouched', async () => {
    const t0 = Date.now() - 60_000;
    // What process 3 spooled before HUB_PROCESSES went from 3 to 2; process 2's spool is its own.
    const orphan = openHistorySpool({ dir: path.join(dataDir, 'history-spool-3'), log: captured.log });
    for (let b = 0; b < 5; b++) await orphan.append(Array.from({ length: 10 }, (_, i) => row('orphan-m', b * 10 + i + 1, t0 + (b * 10 + i) * 100, 5)));
    await orphan.close();
    const own = openHistorySpool({ dir: path.join(dataDir, 'history-spool-2'), log: captured.log });
    await own.append([row('own-m', 1, t0, 5)]);
    await own.close();

    await proxy.cut();
    const adopted = adoptOrphanSpools({ dataDir, processCount: 2, store, log: captured.log, retryBaseMs: 20, retryMaxMs: 100 });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(adopted.maxSeq('orphan-m')).toBe(50);
      expect(adopted.maxSeq('own-m')).toBe(0);
      expect(existsSync(path.join(dataDir, 'history-spool-3'))).toBe(true);

      await proxy.restore();
      await adopted.drained;
      const { rows } = await client.query<{ n: string; d: string; lo: number; hi: number }>(
        "SELECT count(*) n, count(DISTINCT seq) d, min(seq)::float8 lo, max(seq)::float8 hi FROM metrics WHERE machine_id = 'orphan-m'",
      );
      expect(rows[0]).toEqual({ n: '50', d: '50', lo: 1, hi: 50 });
      expect(adopted.maxSeq('orphan-m')).toBe(0);
      expect(readdirSync(dataDir).sort()).toEqual(['history-spool-2']);
      expect((await client.query("SELECT 1 FROM metrics WHERE machine_id = 'own-m'")).rows).toEqual([]);
      await waitFor('the log line', () => captured.lines().some((l) => l.msg === 'adopted history spool replayed and removed'), 2000);
    } finally {
      await adopted.close();
    }
  }, 60_000);
});
