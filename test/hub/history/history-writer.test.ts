// The batching history writer against a real store (plain PostgreSQL path on the local server),
// reached through a TCP proxy the tests cut and restore to cause a real database outage.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DatabaseError, type SqlClient } from '../../../hub/db.ts';
import type { HistoryRow, HistoryStore } from '../../../hub/history/history-store.ts';
import { createHistoryWriter, retryDelayMs, type HistoryWriterOptions } from '../../../hub/history/history-writer.ts';
import { openProxiedHistory, type ProxiedHistory } from '../../support/proxied-history.ts';
import { captureLog, row, type TcpProxy } from '../../support/test-log.ts';

let proxy: TcpProxy;
let client: SqlClient;
let store: HistoryStore;
const captured = captureLog();
let machineCounter = 0;
const machine = () => `writer-${++machineCounter}`;

let history: ProxiedHistory;

beforeAll(async () => {
  history = await openProxiedHistory(captured.log);
  ({ proxy, client, store } = history);
});

afterAll(async () => {
  await history?.close();
});

async function count(machineId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE machine_id = $1', [machineId]);
  return rows[0].n;
}

/** The real store, observed: batch sizes, seq order and how many writes overlap. */
function observed(target: HistoryStore) {
  const batches: HistoryRow[][] = [];
  let active = 0;
  let maxActive = 0;
  return {
    batches,
    maxActive: () => maxActive,
    async write(rows: readonly HistoryRow[]) {
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        await target.write(rows);
        batches.push([...rows]);
      } finally {
        active--;
      }
    },
  };
}

const fast: Partial<HistoryWriterOptions> = { retryBaseMs: 20, retryMaxMs: 100 };
const settledWithin = async (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => 'resolved', () => 'rejected'), new Promise((r) => setTimeout(() => r('pending'), ms))]);

describe('history writer', () => {
  test('retry delay doubles up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((a) => retryDelayMs(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test('batches at maxBatchRows, one batch in flight, in order, everything stored', async () => {
    const id = machine();
    const target = observed(store);
    const writer = createHistoryWriter(target, { log: captured.log, maxBatchRows: 1000, flushIntervalMs: 50 });
    const t0 = Date.now() - 3_600_000;
    await Promise.all(Array.from({ length: 2500 }, (_, i) => writer.add(row(id, i + 1, t0 + i * 1000, i % 100))));
    expect(target.batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(target.maxActive()).toBe(1);
    expect(target.batches.flat().map((r) => r.seq)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(await count(id)).toBe(2500);
    expect(writer.stats).toMatchObject({ writtenRows: 2500, pendingRows: 0, rejectedRows: 0 });
    await writer.close();
  });

  test('a lone row is flushed after flushIntervalMs and is durable when add() resolves', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { log: captured.log, flushIntervalMs: 200 });
    const started = Date.now();
    await writer.add(row(id, 9, Date.now(), 1));
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(await store.lastSeq(id)).toBe(9);
    await writer.close();
  });

  test('a database outage: rows are kept, retried with backoff, and written once when it is back', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, maxBatchRows: 30, flushIntervalMs: 10 });
    await proxy.cut();
    const t0 = Date.now() - 60_000;
    const acks = Array.from({ length: 50 }, (_, i) => writer.add(row(id, i + 1, t0 + i * 100, i)));
    expect(await settledWithin(Promise.all(acks), 500)).toBe('pending');
    expect(writer.stats.failedAttempts).toBeGreaterThan(1);
    expect(writer.stats.pendingRows).toBe(50);
    await proxy.restore();
    await Promise.all(acks);
    expect(await count(id)).toBe(50);
    // The collector replays what it had not seen acked: nothing doubles.
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.add(row(id, i + 1, t0 + i * 100, i))));
    expect(await count(id)).toBe(50);
    const messages = captured.lines().map((l) => l.msg);
    expect(messages).toContain('history write failed; retrying');
    await writer.close();
  });

  test('a row the database refuses is rejected alone; the rest of its batch is written', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, flushIntervalMs: 10 });
    const t = Date.now() - 5000;
    const good = [1, 2, 3].map((s) => writer.add(row(id, s, t + s, s)));
    const bad = writer.add(row(`${id}\u0000nul`, 4, t, 1)); // PostgreSQL text cannot hold NUL
    await Promise.all(good);
    const err = await bad.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).retryable).toBe(false);
    expect((err as DatabaseError).message).toMatch(/22021|0x00/);
    expect(await count(id)).toBe(3);
    expect(writer.stats.rejectedRows).toBe(1);
    await writer.close();
  });

  test('backpressure: past maxPendingRows add() rejects at once', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, maxPendingRows: 3, flushIntervalMs: 10 });
    await proxy.cut();
    const t = Date.now() - 5000;
    const pending = [1, 2, 3].map((s) => writer.add(row(id, s, t + s, s)));
    await expect(writer.add(row(id, 4, t + 4, 4))).rejects.toThrow(/backlog full: 3 rows/);
    await proxy.restore();
    await Promise.all(pending);
    expect(await count(id)).toBe(3);
    await writer.close();
  });

  test('ready(): undefined below half of maxPendingRows; above, a promise that resolves once a quarter is left', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, maxPendingRows: 8, flushIntervalMs: 10 });
    await proxy.cut();
    const t = Date.now() - 5000;
    const pending = [1, 2, 3].map((s) => writer.add(row(id, s, t + s, s)));
    expect(writer.ready()).toBeUndefined(); // 3 < 4
    pending.push(writer.add(row(id, 4, t + 4, 4)));
    const wait = writer.ready();
    expect(wait).toBeInstanceOf(Promise);
    expect(writer.ready()).toBe(wait); // one promise for every waiting stream
    let resolved = false;
    void wait!.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(resolved).toBe(false); // the database is away: the backlog stays
    await proxy.restore();
    await Promise.all(pending);
    await wait;
    expect(resolved).toBe(true);
    expect(writer.ready()).toBeUndefined();
    expect(await count(id)).toBe(4);
    await writer.close();
  });

  test('close() flushes what is queued, is idempotent, and refuses new rows', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { log: captured.log, flushIntervalMs: 60_000 });
    const t = Date.now() - 5000;
    const acks = Array.from({ length: 10 }, (_, i) => writer.add(row(id, i + 1, t + i, i)));
    const first = writer.close();
    expect(writer.close()).toBe(first);
    await first;
    await Promise.all(acks);
    expect(await count(id)).toBe(10);
    await expect(writer.add(row(id, 11, t, 1))).rejects.toThrow(/closed/);
  });

  test('close() during an outage gives up after closeTimeoutMs and rejects the unwritten rows', async () => {
    const id = machine();
    const writer = createHistoryWriter(store, { ...fast, log: captured.log, flushIntervalMs: 10, closeTimeoutMs: 300 });
    await proxy.cut();
    try {
      const ack = writer.add(row(id, 1, Date.now(), 1));
      const started = Date.now();
      await writer.close();
      expect(Date.now() - started).toBeLessThan(3000);
      await expect(ack).rejects.toThrow(/not written before shutdown/);
    } finally {
      await proxy.restore();
    }
    expect(await count(id)).toBe(0);
  });

  test('the spool seam: after spoolAfterFailures attempts a batch goes to the spool and counts as durable', async () => {
    const id = machine();
    const spooled: HistoryRow[] = [];
    const writer = createHistoryWriter(store, {
      ...fast,
      log: captured.log,
      flushIntervalMs: 10,
      spoolAfterFailures: 2,
      spool: { append: async (rows) => void spooled.push(...rows) },
    });
    await proxy.cut();
    try {
      const t = Date.now();
      await Promise.all([1, 2].map((s) => writer.add(row(id, s, t + s, s))));
      expect(spooled.map((r) => r.seq)).toEqual([1, 2]);
      expect(writer.stats.spooledRows).toBe(2);
      expect(writer.stats.failedAttempts).toBe(2);
    } finally {
      await proxy.restore();
    }
    expect(await count(id)).toBe(0);
    await writer.close();
  });

  test('idle pool connections dropped by the network are logged, not thrown', async () => {
    await client.query('SELECT 1');
    await proxy.cut();
    await proxy.restore();
    await new Promise((r) => setTimeout(r, 100));
    expect(captured.lines().some((l) => l.msg === 'idle database connection failed; the pool replaces it')).toBe(true);
    expect(await store.ping()).toBe(true);
  });
});
