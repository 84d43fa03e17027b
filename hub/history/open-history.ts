// Opens the hub's history: TimescaleDB or plain PostgreSQL when a URL is given (the path is detected
// from the server's extensions), else the embedded PGlite (upstream @electric-sql/pglite, plain
// PostgreSQL path with hub-maintained rollups) in `${dataDir}/pgdata`, so one command starts a working
// hub. Logs which path runs and describes it (`database`, shown by /api/info). The caller closes
// store, then client.
import path from 'node:path';
import { createPgClient, describeDatabaseUrl, openPgliteClient, type PgliteEngine, type SqlClient } from '../db.ts';
import type { Logger } from '../log.ts';
import type { HistoryStore } from './history-store.ts';
import type { HistoryRetentionDays } from './rollup-tier.ts';
import { createSqlHistory } from './sql-history.ts';

export interface OpenHistoryOptions {
  timescaleUrl?: string | undefined;
  dataDir: string;
  retention?: Partial<HistoryRetentionDays>;
  log: Logger;
  /** Pool size for TIMESCALE_URL (default 10). */
  maxConnections?: number;
  /** The embedded PGlite build (default: upstream). Tests and benchmarks pass the TimescaleDB build. */
  embeddedEngine?: PgliteEngine;
}

/** Which database holds the history, as /api/info shows it. */
export interface HistoryDatabase {
  /** `embedded`: PGlite inside the hub process; `server`: a PostgreSQL server (TIMESCALE_URL). */
  kind: 'embedded' | 'server';
  /** The PGlite package (embedded only). */
  engine?: string;
  /** `SELECT version()`'s first words, e.g. `PostgreSQL 18.7 (PGlite 0.5.17)`. */
  version: string;
  /** The storage path: `timescaledb` or `postgres` (plain PostgreSQL, rollups kept by the hub). */
  path: string;
}

/** `PostgreSQL 18.7 (PGlite 0.5.17) on wasm32-…` → `PostgreSQL 18.7 (PGlite 0.5.17)`. */
export function shortServerVersion(version: string): string {
  return version.split(' on ')[0].split(',')[0].trim().slice(0, 120);
}

export async function openHistory(options: OpenHistoryOptions): Promise<{ store: HistoryStore; client: SqlClient; database: HistoryDatabase }> {
  const { log } = options;
  const embeddedDir = path.join(options.dataDir, 'pgdata');
  const client = options.timescaleUrl
    ? createPgClient(options.timescaleUrl, { log, maxConnections: options.maxConnections })
    : await openPgliteClient(embeddedDir, { log, engine: options.embeddedEngine });
  try {
    const store = await createSqlHistory(client, { retention: options.retention, log });
    const where = options.timescaleUrl ? describeDatabaseUrl(options.timescaleUrl) : `embedded PGlite in ${embeddedDir}`;
    const { rows: versionRows } = await client.query<{ v: string }>('SELECT version() AS v');
    const database: HistoryDatabase = {
      kind: options.timescaleUrl ? 'server' : 'embedded',
      ...(client.engine ? { engine: client.engine } : {}),
      version: shortServerVersion(String(versionRows[0]?.v ?? '')),
      path: store.path,
    };
    if (store.path === 'timescaledb') {
      const { rows } = await client.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'`);
      log.info({ database: where, version: database.version }, `history: TimescaleDB ${rows[0]?.v ?? '(unknown version)'}`);
    } else {
      log.info({ database: where, version: database.version }, 'history: plain PostgreSQL (no timescaledb extension)');
    }
    return { store, client, database };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}
