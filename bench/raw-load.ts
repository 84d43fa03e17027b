// History rows made without the hub, and two ways of bulk-loading them straight into the `metrics`
// table: the hub's own batch statement (HistoryStore.write, one INSERT … SELECT FROM unnest per 1000 rows, one
// statement at a time, the statement the hub's writer issues) and COPY … FROM STDIN through psql.
// The benchmarks use them as the limit the hub's ingest rate is compared with, and to fill history.
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import { createPgClient } from '../hub/db.ts';
import type { HistoryRow } from '../hub/history/history-store.ts';
import { createSqlHistory, INSERT_CHUNK_ROWS } from '../hub/history/sql-history.ts';
import { METRIC_NAMES, summarize } from '../proto/metrics.ts';
import { syntheticReport } from '../test/support/synthetic-collector.ts';

/** Distinct metric sets the rows cycle through (a synthetic report's CPU repeats every 50 seqs). */
const METRIC_VARIANTS = 50;

/**
 * `count` rows spread round-robin over `machines` machines `${prefix}${i}`, seq 1, 2, … per machine,
 * one row per machine every `stepMs` from `startMs`, with the metrics a synthetic collector report
 * summarises to (the values the hub stores for the load generators' reports). The rows share 50
 * metric objects, so a million of them fit in memory.
 */
export function makeRows(prefix: string, machines: number, count: number, startMs: number, stepMs = 1000): HistoryRow[] {
  const variants = Array.from({ length: METRIC_VARIANTS }, (_, i) => summarize(syntheticReport('variant', i + 1, startMs)));
  const rows: HistoryRow[] = new Array(count);
  for (let n = 0; n < count; n++) {
    const m = n % machines;
    const seq = Math.floor(n / machines) + 1;
    rows[n] = { machineId: `${prefix}${m}`, seq, timeMs: startMs + (seq - 1) * stepMs, metrics: variants[(seq - 1) % METRIC_VARIANTS] };
  }
  return rows;
}

export const COPY_COLUMNS = ['time', 'machine_id', 'seq', ...METRIC_NAMES] as const;

/** CSV for COPY (FORMAT csv): ISO time, id, seq, metric values; null and non-finite as an empty field. */
export function toCsv(rows: readonly HistoryRow[]): string {
  const lines: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const cells = [new Date(r.timeMs).toISOString(), r.machineId, String(r.seq)];
    for (const name of METRIC_NAMES) {
      const v = r.metrics[name];
      cells.push(typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
    }
    lines[i] = cells.join(',');
  }
  return lines.join('\n') + '\n';
}

export interface LoadTiming {
  rows: number;
  ms: number;
  rowsPerSecond: number;
}

/** The hub's batch statement, INSERT_CHUNK_ROWS rows at a time, without the hub around it. */
export async function insertRows(dbUrl: string, rows: readonly HistoryRow[]): Promise<LoadTiming> {
  const log = pino({ level: 'warn' });
  const client = createPgClient(dbUrl, { log, maxConnections: 1 });
  try {
    const store = await createSqlHistory(client, { log });
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += INSERT_CHUNK_ROWS) await store.write(rows.slice(i, i + INSERT_CHUNK_ROWS));
    const ms = performance.now() - t0;
    await store.close();
    return { rows: rows.length, ms, rowsPerSecond: (rows.length * 1000) / ms };
  } finally {
    await client.close();
  }
}

/** COPY metrics FROM STDIN (CSV) through psql; the CSV is made before the clock starts. */
export async function copyRows(dbUrl: string, rows: readonly HistoryRow[]): Promise<LoadTiming> {
  const csv = toCsv(rows);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const psql = spawn('psql', [dbUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy metrics (${COPY_COLUMNS.join(', ')}) FROM pstdin WITH (FORMAT csv)`], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    psql.stderr.on('data', (d: Buffer) => (err += d.toString()));
    psql.once('error', reject);
    psql.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql COPY exited with ${code}: ${err.trim()}`))));
    psql.stdin.end(csv);
  });
  const ms = performance.now() - t0;
  return { rows: rows.length, ms, rowsPerSecond: (rows.length * 1000) / ms };
}
