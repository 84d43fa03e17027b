// Applies the numbered, append-only SQL migrations in schema/ at every hub start: idempotent, all
// pending ones in one transaction under pg_advisory_xact_lock (so hubs starting together apply them
// once), each recorded in the ledger table schema_migrations(version, name, applied_at).
// Two storage paths share the common files; path-specific files live in schema/timescale/ and
// schema/postgres/. The path is chosen once (timescaledb extension available → TimescaleDB) and
// then read back from the ledger, so a database never switches paths. See schema/README.md.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a migration needs of a connection. The hub's SqlExecutor (hub/db.ts) is one; schema/ depends on nothing of the hub. */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /** Several statements separated by semicolons, no parameters. */
  exec(sql: string): Promise<void>;
}

/** A client that runs a function in one transaction (BEGIN … COMMIT, rolled back when it throws); the hub's SqlClient is one. */
export interface SqlClient extends SqlExecutor {
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

export type SchemaPath = 'timescaledb' | 'postgres';

export interface Migration {
  readonly version: number;
  /** Ledger name: `0001_metrics`, `timescale/0002_rollups`, `postgres/0002_rollups`. */
  readonly name: string;
  readonly scope: 'common' | SchemaPath;
  readonly sql: string;
}

// From the package root, so that the hub bundle (dist/hub.mjs, one folder down as this file is) finds it too.
export const SCHEMA_DIR = fileURLToPath(new URL('../schema/', import.meta.url));
/** Arbitrary constant key of the advisory lock held while migrating ("sysmonst" in ASCII hex, fits a bigint). */
export const MIGRATION_LOCK_KEY = '8320808700401841012';

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const SCOPE_DIRS: ReadonlyArray<readonly [Migration['scope'], string, string]> = [
  ['common', '', ''],
  ['timescaledb', 'timescale', 'timescale/'],
  ['postgres', 'postgres', 'postgres/'],
];

/** Reads every migration file; a .sql file with a malformed name is an error, not silently skipped. */
export function loadMigrations(dir: string = SCHEMA_DIR): Migration[] {
  const all: Migration[] = [];
  for (const [scope, sub, prefix] of SCOPE_DIRS) {
    const folder = path.join(dir, sub);
    if (!existsSync(folder)) continue;
    for (const file of readdirSync(folder).sort()) {
      if (!file.endsWith('.sql')) continue;
      const m = FILE_PATTERN.exec(file);
      if (!m) throw new Error(`migration file ${path.join(folder, file)} must be named NNNN_lower_snake_name.sql`);
      all.push({ version: Number(m[1]), name: `${prefix}${m[1]}_${m[2]}`, scope, sql: readFileSync(path.join(folder, file), 'utf8') });
    }
  }
  return all;
}

/** The ordered list for one path: common files plus that path's files; a version may exist only once per path. */
export function migrationsFor(all: readonly Migration[], schemaPath: SchemaPath): Migration[] {
  const list = all.filter((m) => m.scope === 'common' || m.scope === schemaPath).sort((a, b) => a.version - b.version);
  for (let i = 1; i < list.length; i++) {
    if (list[i].version === list[i - 1].version) {
      throw new Error(`migrations ${list[i - 1].name} and ${list[i].name} share version ${list[i].version}`);
    }
  }
  return list;
}

/** Pure path choice: the ledger wins (a database keeps its path); otherwise what the server offers. */
export function chooseSchemaPath(ledgerNames: readonly string[], timescaleAvailable: boolean): SchemaPath {
  const onTimescale = ledgerNames.some((n) => n.startsWith('timescale/'));
  const onPostgres = ledgerNames.some((n) => n.startsWith('postgres/'));
  if (onTimescale && onPostgres) throw new Error('schema_migrations records both the timescale and the postgres path; the database is inconsistent');
  if (onTimescale) {
    if (!timescaleAvailable) throw new Error('this database was set up for TimescaleDB, but the server no longer offers the timescaledb extension');
    return 'timescaledb';
  }
  if (onPostgres) return 'postgres';
  return timescaleAvailable ? 'timescaledb' : 'postgres';
}

export interface MigrateResult {
  path: SchemaPath;
  /** Ledger names applied by this call (empty when the schema was current). */
  applied: string[];
}

async function ledger(tx: SqlExecutor): Promise<Map<number, string>> {
  const { rows } = await tx.query<{ version: number; name: string }>('SELECT version::int AS version, name FROM schema_migrations ORDER BY version');
  return new Map(rows.map((r) => [Number(r.version), r.name]));
}

export async function migrate(client: SqlClient, options: { dir?: string } = {}): Promise<MigrateResult> {
  const all = loadMigrations(options.dir);
  return client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = await ledger(tx);
    const { rows } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`);
    const schemaPath = chooseSchemaPath([...done.values()], Number(rows[0].n) > 0);
    // Loads the extension into this session too (PGlite has no shared_preload_libraries).
    if (schemaPath === 'timescaledb') await tx.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    const wanted = migrationsFor(all, schemaPath);
    const applied: string[] = [];
    for (const m of wanted) {
      const recorded = done.get(m.version);
      if (recorded !== undefined) {
        if (recorded !== m.name) throw new Error(`schema_migrations has version ${m.version} as "${recorded}", but the file is "${m.name}"; migrations are append-only`);
        continue;
      }
      try {
        await tx.exec(m.sql);
      } catch (err) {
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.name);
    }
    const known = new Set(wanted.map((m) => m.version));
    const unknown = [...done.entries()].filter(([v]) => !known.has(v));
    if (unknown.length > 0) {
      throw new Error(`the database has migrations this hub does not know (${unknown.map(([, n]) => n).join(', ')}); run a newer hub`);
    }
    return { path: schemaPath, applied };
  });
}
