// Opens the hub's history: TimescaleDB or plain PostgreSQL when a URL is given (the path is detected
// from the server's extensions), else the embedded PGlite with TimescaleDB in `${dataDir}/pgdata`,
// so one command starts a working hub. Logs which path runs. The caller closes store, then client.
import path from 'node:path';
import { createPgClient, describeDatabaseUrl, openPgliteClient, type SqlClient } from '../db.ts';
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
}

export async function openHistory(options: OpenHistoryOptions): Promise<{ store: HistoryStore; client: SqlClient }> {
  const { log } = options;
  const embeddedDir = path.join(options.dataDir, 'pgdata');
  const client = options.timescaleUrl
    ? createPgClient(options.timescaleUrl, { log, maxConnections: options.maxConnections })
    : await openPgliteClient(embeddedDir, { log });
  try {
    const store = await createSqlHistory(client, { retention: options.retention, log });
    const where = options.timescaleUrl ? describeDatabaseUrl(options.timescaleUrl) : `embedded PGlite in ${embeddedDir}`;
    if (store.path === 'timescaledb') {
      const { rows } = await client.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'`);
      log.info({ database: where }, `history: TimescaleDB ${rows[0]?.v ?? '(unknown version)'}`);
    } else {
      log.info({ database: where }, 'history: plain PostgreSQL (no timescaledb extension)');
    }
    return { store, client };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}
