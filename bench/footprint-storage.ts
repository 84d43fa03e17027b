// Benchmark 5 — what the hub costs to keep running:
// (1) memory of the hub process at 1,000 machines reporting at 1 Hz (simulated collectors over real
//     gRPC, bench/ingest-load-worker.ts), in steady state after a minute, sampled every 5 s for 30 s:
//     with memory state, with Redis state (both with history on the local PostgreSQL), and the
//     one-command default (memory state + embedded upstream PGlite history inside the hub process);
//     the embedded default before and after the move to upstream PGlite: bench/embedded-default.ts;
// (2) history storage per machine per day: one machine-day of rows at 1 s (86,400 rows) written with
//     the hub's HistoryStore into
//     (a) the TimescaleDB path (the TimescaleDB build of PGlite, a devDependency, via openHistory):
//         hypertable size before and after compressing its chunks, chunk compression stats,
//         continuous aggregates;
//     (b) the plain PostgreSQL path on the local server (fresh database): metrics with its indexes,
//         and the rollup tables the hub maintains (after maintain()).
// Run: node bench/footprint-storage.ts [--machines 1000] [--steady 60] [--sample 30] [--rows 86400]
//      [--part memory|storage|both]      (--quick: 100 machines, 10 s + 5 s; 3,600 rows = one hour)
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { createPgClient, type SqlClient } from '../hub/db.ts';
import { openHistory } from '../hub/history/open-history.ts';
import { createSqlHistory } from '../hub/history/sql-history.ts';
import type { HistoryStore } from '../hub/history/history-store.ts';
import { createTestDatabase, REDIS_URL, tempDir } from '../test/support/servers.ts';
import { timescalePglite } from '../test/support/timescale-pglite.ts';
import { startHubProcess } from './hub-process.ts';
import { startLoad } from './ingest-load.ts';
import { treeUsage } from './process-usage.ts';
import { makeRows } from './raw-load.ts';
import { commandLine, fmt, formatBytes, markdownTable, numberFlag, parseBenchArgs, sleep, summarize, writeResultsSection } from './results.ts';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const machines = numberFlag(args, 'machines', 1000, 100);
const steadyS = numberFlag(args, 'steady', 60, 10);
const sampleS = numberFlag(args, 'sample', 30, 5);
const rowsPerMachine = numberFlag(args, 'rows', 86_400, 3_600);
const part = String(args.flags.part ?? 'both');
if (!['memory', 'storage', 'both'].includes(part)) throw new Error(`--part must be memory, storage or both (got ${part})`);
const DAY_S = 86_400;
const log = pino({ level: 'warn' });

// ---- (1) memory ----------------------------------------------------------------------------------

interface MemoryRow {
  config: string;
  rss: number[];
  heapUsed: number[];
  heapTotal: number[];
  external: number[];
  hwm: number;
  cpuPercent: number;
  acked: number;
  sent: number;
}

async function memoryRun(config: string, env: Record<string, string>, redisPrefix?: string): Promise<MemoryRow> {
  const dir = tempDir('bench-mem');
  const hub = await startHubProcess({ env: { DATA_DIR: dir.path, MAX_MACHINES: String(Math.max(10_000, 2 * machines)), ...env }, redisPrefix, startTimeoutMs: 120_000 });
  try {
    const load = await startLoad({ hubUrl: hub.grpcUrl, idPrefix: `mem-${randomBytes(2).toString('hex')}-`, streams: machines, workers: Math.max(1, Math.ceil(machines / 2500)) });
    console.log(`[${config}] ${machines} collectors connected in ${load.opened.ms} ms; steady state after ${steadyS} s, then sampling for ${sampleS} s`);
    const { startAtMs, done } = load.run({ mode: 'rate', periodMs: 1000, durationMs: (steadyS + sampleS) * 1000 + 1000, drainTimeoutMs: 30_000 });
    await sleep(Math.max(0, startAtMs + steadyS * 1000 - Date.now()));
    const row: MemoryRow = { config, rss: [], heapUsed: [], heapTotal: [], external: [], hwm: 0, cpuPercent: 0, acked: 0, sent: 0 };
    const cpu0 = treeUsage(hub.pid)?.cpuSeconds ?? Number.NaN;
    const t0 = Date.now();
    const samples = Math.max(2, Math.round(sampleS / 5) + 1);
    for (let i = 0; i < samples; i++) {
      const s = await hub.stats();
      row.rss.push(s.memory.rss);
      row.heapUsed.push(s.memory.heapUsed);
      row.heapTotal.push(s.memory.heapTotal);
      row.external.push(s.memory.external);
      if (i < samples - 1) await sleep((sampleS * 1000) / (samples - 1));
    }
    const end = treeUsage(hub.pid);
    row.hwm = end?.hwmBytes ?? Number.NaN;
    row.cpuPercent = (100 * ((end?.cpuSeconds ?? Number.NaN) - cpu0)) / ((Date.now() - t0) / 1000);
    const outcome = await done;
    row.acked = outcome.drained.acked;
    row.sent = outcome.drained.sent;
    await load.close();
    console.log(`[${config}] RSS ${formatBytes(Math.max(...row.rss))} max, heap used ${formatBytes(Math.max(...row.heapUsed))} max, peak RSS ${formatBytes(row.hwm)}, hub CPU ${fmt(row.cpuPercent, 0)}%; ${row.acked}/${row.sent} reports acked`);
    return row;
  } finally {
    await hub.close();
    dir.remove();
  }
}

async function memoryPart(): Promise<string> {
  const db = await createTestDatabase();
  const prefix = `sysmonstm-bench:${randomBytes(3).toString('hex')}:`;
  const rows: MemoryRow[] = [];
  try {
    rows.push(await memoryRun('memory state, history on PostgreSQL', { TIMESCALE_URL: db.url }));
    rows.push(await memoryRun('Redis state, history on PostgreSQL', { TIMESCALE_URL: db.url, REDIS_URL }, prefix));
    rows.push(await memoryRun('memory state, embedded PGlite history (the one-command default)', {}));
  } finally {
    await db.drop().catch((err: Error) => console.error(`could not drop ${db.name}: ${err.message}`));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
  const table = rows.map((r) => {
    const rss = summarize(r.rss);
    const heap = summarize(r.heapUsed);
    return {
      configuration: r.config,
      'RSS median (max)': `${formatBytes(rss.p50)} (${formatBytes(rss.max)})`,
      'heap used median (max)': `${formatBytes(heap.p50)} (${formatBytes(heap.max)})`,
      'heap total': formatBytes(summarize(r.heapTotal).p50),
      external: formatBytes(summarize(r.external).p50),
      'peak RSS (VmHWM)': formatBytes(r.hwm),
      'hub CPU %': fmt(r.cpuPercent, 0),
      'reports acked/sent': `${r.acked}/${r.sent}`,
    };
  });
  console.table(table);
  return [
    `**Hub memory at ${machines.toLocaleString('en')} machines × 1 Hz** (simulated collectors over gRPC; hub in its own process; sampled every ${fmt(sampleS / Math.max(1, Math.round(sampleS / 5)), 0)} s for ${sampleS} s after ${steadyS} s)`,
    '',
    markdownTable(table),
  ].join('\n');
}

// ---- (2) storage ---------------------------------------------------------------------------------

/** A UTC midnight three days ago: one machine-day lands in one 1-day chunk, inside raw retention. */
function dayStartMs(): number {
  const d = new Date(Date.now() - 3 * DAY_S * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

async function writeDay(store: HistoryStore, machineId: string): Promise<number> {
  const rows = makeRows(machineId, 1, rowsPerMachine, dayStartMs());
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 10_000) await store.write(rows.slice(i, i + 10_000));
  return (rows.length * 1000) / (performance.now() - t0);
}

const num = (v: unknown) => (v === null || v === undefined ? Number.NaN : Number(v));
/** Bytes for one machine-day, from what `rowsPerMachine` rows took. */
const perDay = (bytes: number) => (bytes * DAY_S) / rowsPerMachine;

async function timescalePart(): Promise<{ table: Array<Record<string, string>>; notes: string[] }> {
  const dir = tempDir('bench-tsdb');
  let client: SqlClient | undefined;
  let store: HistoryStore | undefined;
  try {
    const opened = await openHistory({ dataDir: dir.path, log, embeddedEngine: timescalePglite });
    client = opened.client;
    store = opened.store;
    if (store.path !== 'timescaledb') throw new Error(`the TimescaleDB build runs the ${store.path} path, not TimescaleDB`);
    const rate = await writeDay(store, 'bench-day-');
    const size = async () => {
      const { rows } = await client!.query<Record<string, unknown>>(`SELECT table_bytes, index_bytes, toast_bytes, total_bytes FROM hypertable_detailed_size('metrics')`);
      return rows[0];
    };
    const aggregates = async () => {
      const { rows } = await client!.query<{ view_name: string; bytes: unknown }>(
        `SELECT view_name, hypertable_size(format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)::regclass) AS bytes
           FROM timescaledb_information.continuous_aggregates WHERE view_name IN ('metrics_1m', 'metrics_1h') ORDER BY view_name DESC`,
      );
      return rows;
    };
    await client.exec('ANALYZE metrics');
    const before = await size();
    await client.exec(`CALL refresh_continuous_aggregate('metrics_1m', NULL, NULL)`);
    await client.exec(`CALL refresh_continuous_aggregate('metrics_1h', NULL, NULL)`);
    const aggs = await aggregates();
    const { rows: compressed } = await client.query<{ c: string }>(`SELECT compress_chunk(c)::text AS c FROM show_chunks('metrics') c`);
    const after = await size();
    const { rows: stats } = await client.query<Record<string, unknown>>(
      `SELECT count(*) AS chunks, sum(before_compression_total_bytes) AS before_bytes, sum(after_compression_total_bytes) AS after_bytes FROM chunk_compression_stats('metrics') WHERE compression_status = 'Compressed'`,
    );
    const { rows: count } = await client.query<{ n: unknown }>('SELECT count(*) AS n FROM metrics');
    if (num(count[0].n) !== rowsPerMachine) throw new Error(`expected ${rowsPerMachine} rows in metrics, found ${String(count[0].n)}`);
    const aggBytes = aggs.reduce((n, a) => n + num(a.bytes), 0);
    const t = (label: string, bytes: number, note = '') => ({ 'TimescaleDB (PGlite TimescaleDB build)': label, bytes: formatBytes(bytes), 'per machine per day': formatBytes(perDay(bytes)), 'per row': fmt(bytes / rowsPerMachine, 1), note });
    const table = [
      t('raw hypertable, uncompressed (table + indexes + toast)', num(before.total_bytes), `table ${formatBytes(num(before.table_bytes))}, indexes ${formatBytes(num(before.index_bytes))}`),
      t('raw hypertable, compressed', num(after.total_bytes), `${compressed.length} chunk(s) compressed`),
      t('chunk_compression_stats before → after', num(stats[0].after_bytes), `before ${formatBytes(num(stats[0].before_bytes))}, ratio ${fmt(num(stats[0].before_bytes) / num(stats[0].after_bytes), 1)}×`),
      ...aggs.map((a) => t(`continuous aggregate ${a.view_name}`, num(a.bytes))),
      t('compressed raw + aggregates', num(after.total_bytes) + aggBytes),
    ];
    return { table, notes: [`TimescaleDB: ${rowsPerMachine.toLocaleString('en')} rows written at ${fmt(rate, 0)} rows/s through HistoryStore.write.`] };
  } finally {
    await store?.close();
    await client?.close();
    dir.remove();
  }
}

async function postgresPart(): Promise<{ table: Array<Record<string, string>>; notes: string[] }> {
  const db = await createTestDatabase();
  const client = createPgClient(db.url, { log, maxConnections: 2 });
  try {
    const store = await createSqlHistory(client, { log });
    if (store.path !== 'postgres') throw new Error(`the local server runs the ${store.path} path, not plain PostgreSQL`);
    const rate = await writeDay(store, 'bench-day-');
    await store.maintain(Date.now());
    for (const table of ['metrics', 'metrics_1m', 'metrics_1h']) await client.query(`VACUUM ANALYZE ${table}`);
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT r AS relation, pg_total_relation_size(r) AS total, pg_relation_size(r) AS heap, pg_indexes_size(r) AS indexes
         FROM unnest(ARRAY['metrics', 'metrics_1m', 'metrics_1h']) AS r`,
    );
    const { rows: counts } = await client.query<Record<string, unknown>>(`SELECT (SELECT count(*) FROM metrics) AS raw, (SELECT count(*) FROM metrics_1m) AS m, (SELECT count(*) FROM metrics_1h) AS h`);
    if (num(counts[0].raw) !== rowsPerMachine) throw new Error(`expected ${rowsPerMachine} rows in metrics, found ${String(counts[0].raw)}`);
    await store.close();
    const t = (label: string, bytes: number, note = '') => ({ 'plain PostgreSQL (local server)': label, bytes: formatBytes(bytes), 'per machine per day': formatBytes(perDay(bytes)), 'per row': fmt(bytes / rowsPerMachine, 1), note });
    const total = rows.reduce((n, r) => n + num(r.total), 0);
    const table = [
      ...rows.map((r) =>
        t(`${String(r.relation)} (heap + indexes + toast)`, num(r.total), `heap ${formatBytes(num(r.heap))}, indexes ${formatBytes(num(r.indexes))}${r.relation === 'metrics_1m' ? `, ${String(counts[0].m)} rows` : r.relation === 'metrics_1h' ? `, ${String(counts[0].h)} rows` : ''}`),
      ),
      t('all three', total),
    ];
    return { table, notes: [`plain PostgreSQL: ${rowsPerMachine.toLocaleString('en')} rows written at ${fmt(rate, 0)} rows/s through HistoryStore.write, rollups by maintain(), then VACUUM ANALYZE.`] };
  } finally {
    await client.close();
    await db.drop().catch((err: Error) => console.error(`could not drop ${db.name}: ${err.message}`));
  }
}

async function storagePart(): Promise<string> {
  console.log(`\nhistory storage: ${rowsPerMachine.toLocaleString('en')} rows of one machine at 1 s${rowsPerMachine < DAY_S ? ` (${fmt(rowsPerMachine / 3600, 1)} h, scaled to a day)` : ''}`);
  const ts = await timescalePart();
  console.table(ts.table);
  const plain = await postgresPart();
  console.table(plain.table);
  return [
    `**History storage per machine per day** (one machine, one row a second; ${rowsPerMachine.toLocaleString('en')} rows${rowsPerMachine < DAY_S ? `, scaled ×${fmt(DAY_S / rowsPerMachine, 0)} to a day: the fixed overhead of small tables (empty index pages) is scaled too and overstated` : ''}; rows start at a UTC midnight, so they fill one 1-day chunk)`,
    '',
    markdownTable(ts.table),
    '',
    markdownTable(plain.table),
    '',
    ...ts.notes,
    ...plain.notes,
  ].join('\n');
}

async function main(): Promise<void> {
  console.log(`hub footprint and storage${args.quick ? ' (quick)' : ''}`);
  const parts: string[] = [];
  if (part !== 'storage') parts.push(await memoryPart());
  if (part !== 'memory') parts.push(await storagePart());
  writeResultsSection({ name: 'footprint-storage', body: parts.join('\n\n'), quick: args.quick, command: commandLine() });
}

await main();
