// The history spool with the batching writer against a real store (plain PostgreSQL path on the local
// server) reached through a TCP proxy the tests cut and restore: during an outage batches are fsynced
// to the spool and acked; when the database is back they are replayed once, oldest first; a restart
// in between loses nothing; close() during an outage spools instead of rejecting; a full spool makes
// the writer wait for the database instead.
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { SqlClient } from '../../../hub/db.ts';
import { HistorySpoolFullError, openHistorySpool, type FileHistorySpool } from '../../../hub/history/history-spool.ts';
import type { HistoryStore } from '../../../hub/history/history-store.ts';
import { createHistoryWriter } from '../../../hub/history/history-writer.ts';
import { openProxiedHistory, type ProxiedHistory } from '../../support/proxied-history.ts';
import { waitFor } from '../../support/servers.ts';
import { captureLog, row, type TcpProxy } from '../../support/test-log.ts';

let proxy: TcpProxy;
let client: SqlClient;
let store: HistoryStore;
const captured = captureLog();
let dir: string;
let counter = 0;
const machine = () => `spool-${++counter}`;
const fast = { retryBaseMs: 10, retryMaxMs: 50, flushIntervalMs: 10 };

let history: ProxiedHistory;

beforeAll(async () => {
  history = await openProxiedHistory(captured.log);
  ({ proxy, client, store } = history);
});
afterAll(async () => {
  await history?.close();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sysmonstm-history-spool-'));
});
afterEach(async () => {
  await proxy.restore();
  rmSync(dir, { recursive: true, force: true });
});

async function seqsOf(machineId: string): Promise<number[]> {
  const { rows } = await client.query<{ seq: number }>('SELECT seq::float8 AS seq FROM metrics WHERE machine_id = $1 ORDER BY seq', [machineId]);
  return rows.map((r) => Number(r.seq));
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('history spool', () => {
  test('an outage: batches are spooled and acked, then replayed once when the database is back', async () => {
    const id = machine();
    const spool = openHistorySpool({ dir, log: captured.log });
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, spool, maxBatchRows: 20 });
    await proxy.cut();
    const t0 = Date.now() - 60_000;
    // Every add() resolves although the database is away: durable in the spool.
    await Promise.all(range(1, 100).map((s) => writer.add(row(id, s, t0 + s * 100, s % 100))));
    expect(writer.stats.spooling).toBe(true);
    expect(writer.stats.spooledRows).toBe(100);
    expect(spool.stats().pendingRows).toBe(100);
    expect(spool.maxSeq(id)).toBe(100);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    // More rows while spooling go straight to the spool (no retries against a database known to be away).
    const attempts = writer.stats.failedAttempts;
    await Promise.all(range(101, 120).map((s) => writer.add(row(id, s, t0 + s * 100, 1))));
    expect(writer.stats.failedAttempts).toBe(attempts);

    await proxy.restore();
    await waitFor('the spool to be replayed', () => !writer.stats.spooling, 10_000, 20);
    expect(await seqsOf(id)).toEqual(range(1, 120));
    expect(writer.stats.replayedRows).toBe(120);
    expect(readdirSync(dir)).toEqual([]);
    // After the replay, batches go to the database again.
    await writer.add(row(id, 121, t0 + 121 * 100, 1));
    expect(await seqsOf(id)).toEqual(range(1, 121));
    expect(spool.stats().appendedBatches).toBeGreaterThan(0);
    await writer.close();
    await spool.close();
    const messages = captured.lines().map((l) => l.msg);
    expect(messages).toContain('history database unavailable; spooling batches to disk until it is back');
    expect(messages).toContain('history spool replayed; writing to the database again');
  });

  test('a restart with a full spool (and a torn tail) replays it into the database, nothing twice', async () => {
    const id = machine();
    const first = openHistorySpool({ dir, log: captured.log });
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, spool: first });
    await proxy.cut();
    const t0 = Date.now() - 60_000;
    await Promise.all(range(1, 30).map((s) => writer.add(row(id, s, t0 + s * 100, s))));
    // close() while the database is away: the last batches are spooled at once, nothing is rejected.
    const tail = range(31, 40).map((s) => writer.add(row(id, s, t0 + s * 100, s)));
    await writer.close();
    await Promise.all(tail);
    await first.close();
    const [segment] = readdirSync(dir);
    appendFileSync(path.join(dir, segment), Buffer.from([9, 9, 9, 9, 9])); // a write cut off by a crash

    await proxy.restore();
    const second = openHistorySpool({ dir, log: captured.log });
    expect(second.stats().pendingRows).toBe(40);
    expect(second.maxSeq(id)).toBe(40);
    const again = createHistoryWriter(store, { ...fast, log: captured.log, spool: second });
    expect(again.stats.spooling).toBe(true);
    await waitFor('the replay after the restart', () => !again.stats.spooling, 10_000, 20);
    expect(await seqsOf(id)).toEqual(range(1, 40));
    // A collector that resends what it had not seen acked: nothing doubles.
    await Promise.all(range(35, 45).map((s) => again.add(row(id, s, t0 + s * 100, s))));
    expect(await seqsOf(id)).toEqual(range(1, 45));
    await again.close();
    await second.close();
    expect(captured.lines().some((l) => String(l.msg).includes('damaged tail'))).toBe(true);
  });

  test('a full spool refuses the batch; the writer keeps it and waits for the database', async () => {
    const id = machine();
    const spool: FileHistorySpool = openHistorySpool({ dir, log: captured.log, maxBytes: 2000 });
    await expect(spool.append(range(1, 50).map((s) => row(id, s, Date.now(), 1)))).rejects.toBeInstanceOf(HistorySpoolFullError);
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, spool });
    await proxy.cut();
    const acks = range(1, 40).map((s) => writer.add(row(id, s, Date.now() - 10_000 + s, s)));
    await new Promise((r) => setTimeout(r, 300));
    expect(writer.stats.pendingRows).toBe(40);
    await proxy.restore();
    await Promise.all(acks);
    expect(await seqsOf(id)).toEqual(range(1, 40));
    await writer.close();
    await spool.close();
  });
});
