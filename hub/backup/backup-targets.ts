// What a scheduled backup copies, by history path. With TIMESCALE_URL: `pg_dump --format=custom` run
// as a child process (the hub only waits for it, so ingest never does; restore with pg_restore). With
// the embedded PGlite default: its data directory as a gzipped tar, taken between statements
// (restore: extract it into an empty DATA_DIR/pgdata). Both write to the file they are given; the
// scheduler owns naming, the atomic rename and pruning.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { SqlClient } from '../db.ts';
import { describeDatabaseUrl } from '../db.ts';
import type { BackupKind } from './backup-plan.ts';

export interface BackupTarget {
  readonly kind: BackupKind;
  /** For logs: what is being backed up, never a password. */
  readonly describe: string;
  /** Writes a complete backup to `file`; rejects with a clear message; stops early when `signal` aborts. */
  write(file: string, signal: AbortSignal): Promise<void>;
}

export interface PgDumpOptions {
  /** The pg_dump binary (default: `pg_dump` from PATH). Its major version must be at least the server's. */
  pgDumpPath?: string;
}

const STDERR_KEEP_CHARS = 4000;

/** `pg_dump` arguments and environment for a database URL; the password goes in PGPASSWORD, never on the command line. */
export function pgDumpInvocation(url: string, file: string): { args: string[]; password: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('TIMESCALE_URL is not a valid URL');
  }
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.password = '';
  return { args: ['--format=custom', '--no-password', `--file=${file}`, `--dbname=${parsed.toString()}`], password };
}

export function pgDumpTarget(url: string, options: PgDumpOptions = {}): BackupTarget {
  const binary = options.pgDumpPath ?? 'pg_dump';
  return {
    kind: 'pg_dump',
    describe: `pg_dump of ${describeDatabaseUrl(url)}`,
    write(file, signal) {
      const { args, password } = pgDumpInvocation(url, file);
      return new Promise<void>((resolve, reject) => {
        // The child inherits the hub's environment (PATH, PGSSL*, …) plus the password.
        const child = spawn(binary, args, {
          env: password === undefined ? process.env : { ...process.env, PGPASSWORD: password },
          stdio: ['ignore', 'ignore', 'pipe'],
          signal,
        });
        let stderr = '';
        child.stderr!.setEncoding('utf8');
        child.stderr!.on('data', (chunk: string) => {
          if (stderr.length < STDERR_KEEP_CHARS) stderr += chunk;
        });
        child.once('error', (err: NodeJS.ErrnoException) => {
          if (err.name === 'AbortError') reject(new Error('pg_dump stopped: the hub is shutting down'));
          else if (err.code === 'ENOENT') reject(new Error(`${binary} not found: install the PostgreSQL client tools (pg_dump) matching the server's major version`));
          else reject(new Error(`pg_dump could not start: ${err.message}`));
        });
        child.once('close', (code, sig) => {
          if (code === 0) resolve();
          else if (!signal.aborted) reject(new Error(`pg_dump failed (${code === null ? `signal ${sig}` : `exit ${code}`}): ${stderr.trim().slice(0, STDERR_KEEP_CHARS) || 'no message'}`));
        });
      });
    },
  };
}

/** The embedded database: its data directory (needs the PGlite client, which can dump itself). */
export function embeddedTarget(client: Pick<SqlClient, 'dumpDataDir'>, dataDir: string): BackupTarget {
  const dump = client.dumpDataDir;
  if (!dump) throw new Error('this database client cannot dump its data directory');
  return {
    kind: 'pglite',
    describe: `embedded PostgreSQL in ${dataDir}`,
    async write(file, signal) {
      const tarball = await dump.call(client);
      signal.throwIfAborted();
      await writeFile(file, tarball);
    },
  };
}
