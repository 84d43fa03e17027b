// The hub's one gateway to SQL: a small client interface with two adapters, a node-postgres Pool for
// a TIMESCALE_URL and the embedded PGlite (upstream @electric-sql/pglite, plain PostgreSQL) in a
// data directory. Every pg/PGlite
// failure leaves this module as a DatabaseError with a clear message, a SQLSTATE where there is one,
// and whether retrying can help (connection trouble) or not (bad data, bad SQL).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from './log.ts';

export interface SqlExecutor {
  /** One statement with $1.. parameters. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /** Several statements separated by semicolons, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  readonly kind: 'pg' | 'pglite';
  /** The embedded database only: the PGlite build, e.g. `@electric-sql/pglite`. */
  readonly engine?: string;
  /** Runs `fn` in BEGIN … COMMIT on one connection; rolls back and rethrows when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
  /**
   * The embedded database only: a gzipped tar of its data directory, taken after a CHECKPOINT while
   * no other statement or transaction runs (restore: extract it into an empty `DATA_DIR/pgdata`).
   */
  dumpDataDir?(): Promise<Uint8Array>;
}

/** SQLSTATE classes worth retrying: connection exceptions, resource and operator trouble, transaction rollbacks. */
const RETRYABLE_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);

export class DatabaseError extends Error {
  override name = 'DatabaseError';
  /** SQLSTATE (e.g. 23505) or a Node error code (e.g. ECONNREFUSED) when known. */
  readonly code: string | undefined;
  /** True when the same statement may succeed later (the server is unreachable or restarting). */
  readonly retryable: boolean;
  constructor(message: string, options: { code: string | undefined; retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
  }
}

/** Host, port and database of a URL, never the password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable database URL)';
  }
}

/** The one place where a foreign database failure becomes a DatabaseError. `context` says what was being done. */
export function toDatabaseError(err: unknown, context: string): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const e = err as { message?: unknown; code?: unknown; detail?: unknown; hint?: unknown; errors?: unknown };
  let message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  // AggregateError from a failed multi-address connect carries the useful message inside.
  if (message === '' || (Array.isArray(e?.errors) && e.errors.length > 0 && !e.message)) {
    message = (e.errors as Error[]).map((x) => x.message).join('; ');
  }
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const isSqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code);
  let retryable: boolean;
  if (isSqlState) retryable = RETRYABLE_SQLSTATE_CLASSES.has(code.slice(0, 2));
  else if (/PGlite is closed|client was closed|Cannot use a pool after calling end/i.test(message)) retryable = false;
  // No SQLSTATE: a socket-level failure (ECONNREFUSED, ECONNRESET, "Connection terminated", connect timeout).
  else retryable = true;
  const extra = [typeof e?.detail === 'string' ? e.detail : '', typeof e?.hint === 'string' ? `hint: ${e.hint}` : ''].filter(Boolean).join('; ');
  const text = `${context}: ${message}${extra ? ` (${extra})` : ''}${code ? ` [${code}]` : ''}`;
  return new DatabaseError(text, { code, retryable, cause: err });
}

async function wrap<T>(context: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toDatabaseError(err, context);
  }
}

function short(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

export interface PgClientOptions {
  log: Logger;
  /** Pool size (default 10). */
  maxConnections?: number;
  connectTimeoutMs?: number;
}

/** A node-postgres Pool for `url`. Idle-client errors are logged, never thrown (an unhandled one would crash the process). */
export function createPgClient(url: string, options: PgClientOptions): SqlClient {
  const where = describeDatabaseUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'sysmonstm-hub',
  });
  pool.on('error', (err) => {
    options.log.warn({ err: toDatabaseError(err, `PostgreSQL ${where}`).message }, 'idle database connection failed; the pool replaces it');
  });
  const executor = (c: pg.Pool | pg.PoolClient): SqlExecutor => ({
    query: <T>(text: string, params?: readonly unknown[]) =>
      wrap(`PostgreSQL ${where}: ${short(text)}`, async () => ({ rows: (await c.query(text, params as unknown[] | undefined)).rows as T[] })),
    exec: (sql) =>
      wrap(`PostgreSQL ${where}: ${short(sql)}`, async () => {
        await c.query(sql);
      }),
  });
  let closing: Promise<void> | undefined;
  return {
    kind: 'pg',
    ...executor(pool),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const conn = await wrap(`PostgreSQL ${where}: connect`, () => pool.connect());
      let broken: Error | undefined;
      try {
        await wrap(`PostgreSQL ${where}: BEGIN`, () => conn.query('BEGIN'));
        const result = await fn(executor(conn));
        await wrap(`PostgreSQL ${where}: COMMIT`, () => conn.query('COMMIT'));
        return result;
      } catch (err) {
        try {
          await conn.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is unusable: destroy it instead of returning it
        }
        throw toDatabaseError(err, `PostgreSQL ${where}: transaction`);
      } finally {
        conn.release(broken);
      }
    },
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}

/** What the hub uses of a PGlite instance (upstream's and any other build with the same API). */
export interface PgliteInstance {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: Pick<PgliteInstance, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  dumpDataDir(compression?: 'gzip' | 'none' | 'auto'): Promise<Blob | File>;
  close(): Promise<void>;
  readonly closed: boolean;
}

/** A PGlite build: how to open a data directory with it, and which PostgreSQL major its files are. */
export interface PgliteEngine {
  /** Package name and version, e.g. `@electric-sql/pglite 0.5.17` (for logs and /api/info). */
  readonly name: string;
  /** The PostgreSQL major version its data directories are (the PG_VERSION file). */
  readonly pgMajor: string;
  open(dataDir: string): Promise<PgliteInstance>;
}

/** The PostgreSQL major of the upstream PGlite the hub ships with (0.5.x is PostgreSQL 18). */
export const UPSTREAM_PG_MAJOR = '18';

/**
 * The embedded default: upstream PGlite, plain PostgreSQL (no extension), so the hub maintains the
 * rollups itself. Loaded lazily: the WASM build is only needed when no database URL is configured.
 */
export const upstreamPglite: PgliteEngine = {
  name: '@electric-sql/pglite',
  pgMajor: UPSTREAM_PG_MAJOR,
  async open(dataDir) {
    const { PGlite } = await import('@electric-sql/pglite');
    return (await PGlite.create({ dataDir })) as unknown as PgliteInstance;
  },
};

/** Thrown before opening when the data directory holds another PostgreSQL major (e.g. an earlier sysmonstm's). */
export class IncompatibleDataDirError extends Error {
  override name = 'IncompatibleDataDirError';
  readonly dataDir: string;
  /** The PG_VERSION found, and the one this engine writes. */
  readonly found: string;
  readonly expected: string;
  constructor(dataDir: string, found: string, expected: string) {
    super(`${dataDir} holds a PostgreSQL ${found} data directory; this embedded database is PostgreSQL ${expected}`);
    this.dataDir = dataDir;
    this.found = found;
    this.expected = expected;
  }
}

/** The PG_VERSION of an existing data directory, undefined for a new (empty) one. */
export function dataDirPgMajor(dataDir: string): string | undefined {
  const file = path.join(dataDir, 'PG_VERSION');
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').trim();
}

export interface PgliteClientOptions {
  log: Logger;
  /** The PGlite build (default: upstream). Tests pass the TimescaleDB build to prove the TimescaleDB SQL. */
  engine?: PgliteEngine;
}

/**
 * The embedded PostgreSQL (PGlite) in `dataDir`. Opening takes a few seconds (a new directory: more,
 * initdb runs). A directory of another PostgreSQL major is refused before opening (IncompatibleDataDirError).
 * One connection: queries and transactions are serialised by PGlite itself.
 */
export async function openPgliteClient(dataDir: string, options: PgliteClientOptions): Promise<SqlClient> {
  const engine = options.engine ?? upstreamPglite;
  mkdirSync(dataDir, { recursive: true });
  const where = `embedded PostgreSQL (${dataDir})`;
  const found = dataDirPgMajor(dataDir);
  if (found !== undefined && found !== engine.pgMajor) throw new IncompatibleDataDirError(dataDir, found, engine.pgMajor);
  const db = await wrap(`${where}: open`, () => engine.open(dataDir));
  options.log.debug({ dataDir, engine: engine.name }, 'embedded PostgreSQL open');
  type Executor = Pick<PgliteInstance, 'query' | 'exec'>;
  const executor = (c: Executor): SqlExecutor => ({
    query: <T>(text: string, params?: readonly unknown[]) =>
      wrap(`${where}: ${short(text)}`, async () => ({ rows: (await c.query<T>(text, params as unknown[] | undefined)).rows })),
    exec: (sql) =>
      wrap(`${where}: ${short(sql)}`, async () => {
        await c.exec(sql);
      }),
  });
  let closing: Promise<void> | undefined;
  return {
    kind: 'pglite',
    engine: engine.name,
    ...executor(db),
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) => wrap(`${where}: transaction`, () => db.transaction((tx) => fn(executor(tx)))),
    dumpDataDir: () =>
      wrap(`${where}: dump`, () =>
        // Inside a transaction of its own: every other query and transaction waits, so the copy is taken between them.
        db.transaction(async (tx) => {
          await tx.exec('CHECKPOINT');
          return new Uint8Array(await (await db.dumpDataDir('gzip')).arrayBuffer());
        }),
      ),
    close() {
      closing ??= db.closed ? Promise.resolve() : db.close();
      return closing;
    },
  };
}
