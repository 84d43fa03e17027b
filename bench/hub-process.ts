// The parent's side of bench/hub-child.ts: forks a real hub into its own process, waits until it
// listens, asks it for stats over IPC, and closes it (with an optional V8 CPU profile written on exit).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { HubChildReady, HubChildStats } from './hub-child.ts';
import { BENCH_DIR, REPO_ROOT } from './results.ts';

export interface HubProcess {
  readonly pid: number;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly grpcUrl: string;
  readonly httpUrl: string;
  readonly ready: HubChildReady;
  stats(): Promise<HubChildStats>;
  /** Closes the hub (in order) and waits for the process to exit; returns the .cpuprofile path when profiling. */
  close(): Promise<string | undefined>;
  output(): string;
}

export interface HubProcessOptions {
  /** Hub configuration (HTTP_PORT, TIMESCALE_URL, REDIS_URL ...); ports default to 0, hosts to 127.0.0.1. */
  env: Record<string, string>;
  redisPrefix?: string;
  /** Writes a V8 CPU profile of the hub into this directory (node --cpu-prof). */
  cpuProfileDir?: string;
  startTimeoutMs?: number;
}

export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  const execArgv: string[] = [];
  if (options.cpuProfileDir) {
    mkdirSync(options.cpuProfileDir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir);
  }
  const child: ChildProcess = fork(path.join(BENCH_DIR, 'hub-child.ts'), [], {
    cwd: REPO_ROOT,
    execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...process.env,
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      GRPC_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
      BENCH_REDIS_PREFIX: options.redisPrefix ?? '',
    },
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-50_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));

  const ready = await new Promise<HubChildReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the hub did not start within ${options.startTimeoutMs ?? 60_000} ms:\n${out}`)), options.startTimeoutMs ?? 60_000);
    child.on('message', function onReady(msg: { type?: string }) {
      if (msg.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve(msg as HubChildReady);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the hub exited (${code}) before it was ready:\n${out}`));
    });
  });

  let nextId = 1;
  const pending = new Map<number, (s: HubChildStats) => void>();
  child.on('message', (msg: { type?: string; id?: number }) => {
    if (msg.type === 'stats') pending.get(msg.id!)?.(msg as HubChildStats);
  });

  let closing: Promise<string | undefined> | undefined;
  return {
    pid: child.pid!,
    grpcPort: ready.grpcPort,
    httpPort: ready.httpPort,
    grpcUrl: `http://127.0.0.1:${ready.grpcPort}`,
    httpUrl: `http://127.0.0.1:${ready.httpPort}`,
    ready,
    output: () => out,
    stats() {
      const id = nextId++;
      return new Promise<HubChildStats>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the hub did not answer a stats request within 60 s'));
        }, 60_000); // a hub saturated by 10,000 streams answers late, but it answers
        pending.set(id, (s) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(s);
        });
        child.send({ cmd: 'stats', id });
      });
    },
    close() {
      closing ??= (async () => {
        const before = options.cpuProfileDir ? new Set(readdirSync(options.cpuProfileDir)) : new Set<string>();
        if (child.exitCode === null && child.signalCode === null) {
          child.send({ cmd: 'close' });
          const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
          await exited;
          clearTimeout(timer);
        }
        if (!options.cpuProfileDir) return undefined;
        const added = readdirSync(options.cpuProfileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
        return added.length ? path.join(options.cpuProfileDir, added[0]) : undefined;
      })();
      return closing;
    },
  };
}
