// Damage in the middle of a spool segment (a flipped byte, a zeroed block): the hub's history spool
// and the collector's report spool step over the damaged record to the next valid one, keep every
// record after it, and log exactly what was skipped (file, byte range, the numbers around it). The
// hub's batches that remain are replayed into a real PostgreSQL store. Before, the first bad record
// was taken for a torn tail and everything after it was cut off.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSpooledReportBuffer } from '../../collector/spooled-report-buffer.ts';
import { RECORD_HEADER_BYTES, scanSegment } from '../../proto/spool-record.ts';
import { createPgClient, type SqlClient } from '../../hub/db.ts';
import { openHistorySpool } from '../../hub/history/history-spool.ts';
import { createSqlHistory } from '../../hub/history/sql-history.ts';
import type { HistoryStore } from '../../hub/history/history-store.ts';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { captureLog, row } from '../support/test-log.ts';
import { createTestDatabase } from '../support/servers.ts';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const dirs: string[] = [];
const freshDir = (name: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `sysmonstm-${name}-`));
  dirs.push(d);
  return d;
};
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: SqlClient;
let store: HistoryStore;

beforeAll(async () => {
  db = await createTestDatabase();
  client = createPgClient(db.url, { log: captureLog().log });
  store = await createSqlHistory(client);
});
afterAll(async () => {
  await store?.close();
  await client?.close();
  await db?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Record offsets of the only segment in `dir`, and its path. */
function onlySegment(dir: string): { file: string; offsets: number[]; seqs: number[] } {
  const names = readdirSync(dir).filter((n) => n.endsWith('.log'));
  expect(names).toHaveLength(1);
  const file = path.join(dir, names[0]);
  const scan = scanSegment(readFileSync(file));
  return { file, offsets: scan.records.map((r) => r.offset), seqs: scan.records.map((r) => r.seq) };
}

function damage(file: string, at: number, bytes: Buffer): void {
  const data = readFileSync(file);
  bytes.copy(data, at);
  writeFileSync(file, data);
}

describe('history spool (hub)', () => {
  it('one flipped payload byte in batch 50 of 100: 99 batches are kept and replayed, the skip is logged', async () => {
    const dir = freshDir('hub-spool-damage');
    const id = 'damaged-spool-1';
    const t0 = Date.now() - 3_600_000;
    const first = openHistorySpool({ dir, log: captureLog().log });
    for (const n of range(1, 100)) await first.append([row(id, n, t0 + n * 1000, n % 100)]);
    await first.close();
    const { file, offsets } = onlySegment(dir);
    const size = statSync(file).size;
    damage(file, offsets[49] + RECORD_HEADER_BYTES + 5, Buffer.from([0xff])); // inside batch 50's payload

    const captured = captureLog();
    const second = openHistorySpool({ dir, log: captured.log });
    expect(second.stats()).toMatchObject({ pendingBatches: 99, pendingRows: 99 });
    expect(second.maxSeq(id)).toBe(100);
    expect(statSync(file).size).toBe(size); // nothing was cut off
    const skipped = captured.lines().filter((l) => String(l.msg).includes('damaged record in the middle'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ file, offset: offsets[49], bytes: offsets[50] - offsets[49], afterBatch: 49, beforeBatch: 51, lostBatches: 1 });
    expect(String(skipped[0].problem)).toMatch(/checksum mismatch/);
    expect(captured.lines().some((l) => String(l.msg).includes('damaged tail'))).toBe(false);

    const policy = { isRetryable: () => true, onRejected: () => {} };
    while (second.pendingBatches > 0) await second.replay(store, 50, policy);
    const { rows } = await client.query<{ seq: number }>('SELECT seq::float8 AS seq FROM metrics WHERE machine_id = $1 ORDER BY seq', [id]);
    expect(rows.map((r) => Number(r.seq))).toEqual(range(1, 100).filter((n) => n !== 50));
    await second.close();
  });

  it('a zeroed block across batches 20..22 loses those three only; a torn tail is still cut off', async () => {
    const dir = freshDir('hub-spool-zeroed');
    const id = 'damaged-spool-2';
    const t0 = Date.now() - 3_600_000;
    const first = openHistorySpool({ dir, log: captureLog().log });
    for (const n of range(1, 40)) await first.append([row(id, n, t0 + n * 1000, 1)]);
    await first.close();
    const { file, offsets } = onlySegment(dir);
    damage(file, offsets[19] + 3, Buffer.alloc(offsets[22] - offsets[19] - 6));
    const data = readFileSync(file);
    writeFileSync(file, data.subarray(0, data.length - 7)); // and the last write torn
    const captured = captureLog();
    const second = openHistorySpool({ dir, log: captured.log });
    expect(second.stats().pendingBatches).toBe(40 - 3 - 1);
    expect(captured.lines().find((l) => String(l.msg).includes('damaged record in the middle'))).toMatchObject({ afterBatch: 19, beforeBatch: 23, lostBatches: 3 });
    expect(captured.lines().some((l) => String(l.msg).includes('damaged tail'))).toBe(true);
    await second.close();
  });
});

describe('report spool (collector)', () => {
  it('a damaged record in the middle: the reports after it are kept and resent, the skip is logged', async () => {
    const dir = freshDir('collector-spool-damage');
    const report = (seq: number) => create(ReportSchema, { machineId: 'm', seq: BigInt(seq), timestampMs: BigInt(1_700_000_000_000 + seq * 1000), hostname: 'h', cpu: { totalPercent: seq % 100 } });
    const first = openSpooledReportBuffer({ dir, memoryCapacity: 5, fsyncIntervalMs: 0, segmentBytes: 1024 * 1024 });
    for (const n of range(1, 80)) first.push(report(n));
    await first.close();
    const { file, offsets } = onlySegment(dir);
    damage(file, offsets[39] + 4, Buffer.from([0, 0, 0, 0])); // batch 40's checksum

    const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const log = { warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }), error: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
    const second = openSpooledReportBuffer({ dir, memoryCapacity: 5, log });
    expect(second.restored).toBe(79);
    expect(second.lastSeq).toBe(80);
    expect(second.after(0).map((r) => Number(r.seq))).toEqual(range(1, 80).filter((n) => n !== 40));
    const skipped = lines.filter((l) => l.msg.includes('damaged record in the middle'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0].obj).toMatchObject({ file, offset: offsets[39], bytes: offsets[40] - offsets[39], afterSeq: 39, beforeSeq: 41 });
    // It goes on appending after the kept records.
    second.push(report(81));
    expect(second.after(79).map((r) => Number(r.seq))).toEqual([80, 81]);
    await second.close();
  });
});

describe('scanSegment', () => {
  it('resynchronises past garbage in the middle and reports the range', () => {
    const dir = freshDir('scan');
    const b = openSpooledReportBuffer({ dir, fsyncIntervalMs: 0 });
    for (const n of range(1, 5)) b.push(create(ReportSchema, { machineId: 'm', seq: BigInt(n), hostname: 'h' }));
    void b.close();
    const { file, offsets } = onlySegment(dir);
    const data = readFileSync(file);
    const withGarbage = Buffer.concat([data.subarray(0, offsets[2]), Buffer.from('garbage!garbage!garbage!'), data.subarray(offsets[2])]);
    const scan = scanSegment(withGarbage);
    expect(scan.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(scan.skipped).toEqual([{ offset: offsets[2], bytes: 24, problem: expect.any(String) }]);
    expect(scan.problem).toBeNull();
    expect(scan.validBytes).toBe(withGarbage.length);
  });
});
