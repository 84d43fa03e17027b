// Test support: a Docker engine of the test's own, for test/deploy/compose-run.test.ts. It is Debian's
// dockerd, started as root with its data, sockets and pid file under a cache folder (so images and the
// build cache survive between runs and nothing collides with a system dockerd), in a mount namespace
// of its own whose mounts propagate like a systemd host's (the collector's `/:/host/root:ro,rslave`
// needs that; this machine's mounts are private). No default bridge and no iptables rules: the
// containers reach each other on their compose network and the host through published ports only;
// builds use the host's network.
// A lock file makes concurrent runs take turns. A dockerd already running on the same folder (left by
// an interrupted run) is reused and left running: only a daemon this process started is stopped.
import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { processAlive } from './servers.ts';

export const DOCKER_CACHE_DIR = process.env.TEST_DOCKER_CACHE ?? path.join(homedir(), '.cache', 'sysmonstm-docker');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    const file = path.join(dir, binary);
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
}

/** Runs a command to its end; rejects with the command, its exit status and the tail of its output. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(command, args, spawnOptions);
    let stdout = '';
    let both = '';
    child.stdout!.on('data', (d: Buffer) => ((stdout += d.toString()), (both += d.toString())));
    child.stderr!.on('data', (d: Buffer) => (both += d.toString()));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(stdout);
      const shown = [command, ...args].join(' ').slice(0, 300);
      reject(new Error(`${shown}: ${signal ? `killed (${signal}${options.timeoutMs ? `, timeout ${options.timeoutMs} ms` : ''})` : `exit ${code}`}\n${both.slice(-4000)}`));
    });
    child.stdin!.end(options.input ?? '');
  });
}

export interface DockerEngine {
  /** unix:///…/docker.sock of this engine. */
  readonly host: string;
  /** Environment for docker and docker-compose commands: PATH, HOME and DOCKER_HOST only. */
  readonly env: Record<string, string>;
  /** True when this process started the daemon (and so stops it). */
  readonly started: boolean;
  readonly pid: number;
  /** The daemon's log (docker-proxy's errors about published ports land here too). */
  readonly logFile: string;
  /** The last `lines` lines of the daemon's log, or why it cannot be read. */
  logTail(lines: number): string;
  /** `docker …` against this engine; resolves with stdout. */
  docker(args: readonly string[], options?: RunOptions): Promise<string>;
  /** Stops the daemon if this process started it, and gives the lock back. */
  stop(): Promise<void>;
}

export type EngineStart = { ok: true; engine: DockerEngine } | { ok: false; reason: string };

/** Why this machine cannot run the engine at all (not root, a binary missing), or undefined. */
export function engineProblem(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'dockerd runs as root and this test is not root';
  for (const binary of ['dockerd', 'docker', 'docker-compose', 'debootstrap', 'unshare']) {
    if (!onPath(binary)) return `${binary} is not installed (apt-get install docker.io docker-compose debootstrap)`;
  }
  return undefined;
}

/** Takes the cache folder's lock (a file holding the owner's pid); a lock of a dead process is taken over. */
async function lock(file: string, waitMs: number): Promise<(() => void) | string> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) rmSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      continue; // released meanwhile
    }
    // An empty file just being written: give its writer a moment before calling it stale.
    if (!owner && Date.now() - statSync(file).mtimeMs < 5_000) owner = -1;
    if (owner > 0 && !processAlive(owner)) {
      rmSync(file, { force: true });
      continue;
    }
    if (owner === 0) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) return `another run (pid ${owner}) holds ${file}`;
    await sleep(1000);
  }
}

/** Starts (or reuses) the test's dockerd. Never throws: a failure to get an engine is a reason. */
export async function startDockerEngine(options: { lockWaitMs?: number; startTimeoutMs?: number } = {}): Promise<EngineStart> {
  try {
    return await start(options);
  } catch (err) {
    return { ok: false, reason: `dockerd could not be started: ${(err as Error).message.split('\n')[0]}` };
  }
}

async function start(options: { lockWaitMs?: number; startTimeoutMs?: number }): Promise<EngineStart> {
  const problem = engineProblem();
  if (problem) return { ok: false, reason: problem };
  const cacheDir = DOCKER_CACHE_DIR;
  const runDir = path.join(cacheDir, 'run');
  mkdirSync(runDir, { recursive: true });
  const release = await lock(path.join(cacheDir, 'lock'), options.lockWaitMs ?? 15 * 60_000);
  if (typeof release === 'string') return { ok: false, reason: release };

  const socket = path.join(runDir, 'docker.sock');
  const pidFile = path.join(runDir, 'dockerd.pid');
  const logFile = path.join(cacheDir, 'dockerd.log');
  const host = `unix://${socket}`;
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: homedir(), DOCKER_HOST: host };
  // The daemon's own client (Debian's docker.io) rather than any newer CLI earlier on PATH.
  const cli = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
  const docker = (args: readonly string[], o: RunOptions = {}) => run(cli, args, { timeoutMs: 60_000, ...o, env: { ...env, ...o.env } });
  const answers = () => docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).then(() => true, () => false);

  const existing = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  let pid: number;
  let started: boolean;
  if (existing > 0 && processAlive(existing)) {
    if (!(await answers())) {
      release();
      return { ok: false, reason: `a dockerd (pid ${existing}) runs on ${runDir} but does not answer on ${socket}` };
    }
    pid = existing;
    started = false;
  } else {
    const out = openSync(logFile, 'w');
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'shared',
        'dockerd',
        '--data-root',
        path.join(cacheDir, 'data'),
        '--exec-root',
        path.join(runDir, 'exec'),
        '--host',
        host,
        '--pidfile',
        pidFile,
        '--bridge=none',
        '--iptables=false',
        '--ip-forward=false',
        '--ip-masq=false',
      ],
      { detached: true, stdio: ['ignore', out, out], env: { PATH: env.PATH, HOME: env.HOME } },
    );
    closeSync(out);
    child.unref();
    pid = child.pid!;
    started = true;
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    let up = false;
    while (Date.now() < deadline && processAlive(pid)) {
      if (await answers()) {
        up = true;
        break;
      }
      await sleep(250);
    }
    if (!up) {
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
      const lastLine = readFileSync(logFile, 'utf8').trim().split('\n').filter((l) => /level=(error|fatal)|failed|error/i.test(l)).at(-1) ?? 'no error logged';
      release();
      return { ok: false, reason: `dockerd did not start (${lastLine.slice(0, 300)}; log: ${logFile})` };
    }
  }

  const engine: DockerEngine = {
    host,
    env,
    started,
    pid,
    docker,
    logFile,
    logTail(lines: number) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch (err) {
        return (err as Error).message;
      }
    },
    async stop() {
      try {
        if (started && processAlive(pid)) {
          process.kill(pid, 'SIGTERM');
          const deadline = Date.now() + 30_000;
          while (processAlive(pid) && Date.now() < deadline) await sleep(200);
          if (processAlive(pid)) process.kill(pid, 'SIGKILL');
        }
      } finally {
        release();
      }
    },
  };
  return { ok: true, engine };
}
