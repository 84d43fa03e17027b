// Test support: private PostgreSQL and Redis instances on spare ports that a test may kill (SIGKILL,
// SIGTERM) and start again, without touching the shared servers on 5432 / 6379.
// - PostgreSQL: initdb from /usr/lib/postgresql/15/bin into a temp dir owned by the postgres user
//   (the server refuses to run as root), the postmaster spawned directly with the postgres user's
//   uid/gid (not through runuser: a postmaster orphaned by a killed runuser becomes a zombie that a
//   container's PID 1 may never reap, and its pid then looks alive to the next postmaster) in a
//   process group of its own. SIGKILL kills the postmaster like a crash; its backends notice and exit.
//   fsync is off: a killed process loses nothing that way (the page cache survives it); no OS crash is
//   simulated.
// - Redis: `redis-server --daemonize yes --pidfile F --save ""`, so a restart starts empty (the worst
//   case for the hub: state to resync).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freePort, processAlive } from './servers.ts';

const PG_BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://…/sysmonstm on the private server. */
  readonly url: string;
  start(): Promise<void>;
  /** SIGKILL: the postmaster's process group, like a crash (backends exit on their own). SIGTERM: the postmaster only (smart
   *  shutdown, which waits for clients; after `graceMs` it is followed by SIGINT, the fast shutdown). */
  kill(signal: 'SIGKILL' | 'SIGTERM', graceMs?: number): Promise<void>;
  readonly running: boolean;
  output(): string;
  /** Stops the server and removes its directory. */
  remove(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sysmonstm-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  /** As root: run as the postgres user (spawn's uid/gid). */
  let runAs: { uid: number; gid: number; env: NodeJS.ProcessEnv } | undefined;
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
    runAs = { uid, gid, env: { ...process.env, HOME: dir, USER: 'postgres', LOGNAME: 'postgres' } };
  }
  const init = spawnSync(path.join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], { encoding: 'utf8', cwd: dir, ...runAs });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const postmasterPid = (): number | undefined => {
    try {
      return Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };

  const server: PrivatePostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/sysmonstm`,
    async start() {
      const args = [
        '-D', data, '-p', String(port), '-k', dir,
        '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50', '-c', 'shared_buffers=32MB',
      ];
      const started = spawn(path.join(PG_BIN, 'postgres'), args, { detached: true, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...runAs });
      child = started;
      started.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      started.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      await waitUntil(
        'the private PostgreSQL',
        async () => {
          const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1000 });
          await c.connect();
          try {
            const { rows } = await c.query(`SELECT 1 FROM pg_database WHERE datname = 'sysmonstm'`);
            if (rows.length === 0) await c.query('CREATE DATABASE sysmonstm');
          } finally {
            await c.end();
          }
          return true;
        },
        30_000,
      );
    },
    async kill(signal, graceMs = 3000) {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      if (signal === 'SIGKILL') {
        process.kill(-child.pid!, 'SIGKILL');
      } else {
        const pid = postmasterPid();
        if (pid) process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => {
          const p = postmasterPid();
          if (p && processAlive(p)) process.kill(p, 'SIGINT');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      await exited;
      // Backends notice the postmaster's death by themselves; wait until none is left on the data dir.
      await waitUntil('the old PostgreSQL processes to exit', () => !(child!.pid && processAlive(child!.pid)), 10_000);
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    output: () => output,
    async remove() {
      if (server.running) {
        const pid = postmasterPid();
        if (pid && processAlive(pid)) process.kill(pid, 'SIGINT');
        const timer = setTimeout(() => child?.pid && process.kill(-child.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  readonly running: boolean;
  remove(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sysmonstm-redis-'));
  const pidFile = path.join(dir, 'redis.pid');
  const port = await freePort();
  const pid = (): number | undefined => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined);
  const server: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const result = spawnSync(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidFile, '--dir', dir, '--logfile', path.join(dir, 'redis.log')],
        { encoding: 'utf8' },
      );
      if (result.status !== 0) throw new Error(`redis-server failed: ${result.stderr || result.stdout}`);
      await waitUntil(
        'the private Redis',
        async () => {
          const r = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          try {
            await r.connect();
            return (await r.ping()) === 'PONG';
          } finally {
            r.disconnect();
          }
        },
        10_000,
      );
    },
    async kill(signal) {
      const p = pid();
      if (p === undefined || !processAlive(p)) return;
      process.kill(p, signal);
      await waitUntil('Redis to exit', () => !processAlive(p), 10_000);
      rmSync(pidFile, { force: true });
    },
    get running() {
      const p = pid();
      return p !== undefined && processAlive(p);
    },
    async remove() {
      await server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
