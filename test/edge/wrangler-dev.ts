// Test support: runs the real edge (wrangler.toml → worker + Durable Objects in workerd) with
// `wrangler dev` on 127.0.0.1 and a free port, waits for /health, and stops the whole process group.
// The config is copied into a temp dir with absolute paths so the state (.wrangler, --persist-to)
// stays out of the repo, and the assets point at a one-file fixture unless web/dist exists.
// Exported for other suites (the collector → hub → edge chain): start it, point the hub's EDGE_URL
// at `ingestUrl` with EDGE_API_KEY = `hubToken`.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, tempDir } from '../support/servers.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const WRANGLER_BIN = path.join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js');
export const FIXTURE_INDEX_HTML = '<!doctype html><title>sysmonstm edge fixture</title><p>fixture dashboard</p>\n';

export interface EdgeConfigFiles {
  dir: string;
  configPath: string;
  assetsDir: string;
  remove(): void;
}

/**
 * Writes a copy of the repo's wrangler.toml into a temp dir: `main` absolute, assets from web/dist when
 * it holds an index.html (or `useRepoAssets: false`), else from a fixture holding only index.html.
 */
export function writeEdgeConfig(options: { useRepoAssets?: boolean } = {}): EdgeConfigFiles {
  const tmp = tempDir('edge');
  const repoAssets = path.join(REPO_ROOT, 'web/dist');
  // A copy of the built dashboard, never web/dist itself: wrangler dev watches its assets directory and
  // reloads on a change, dropping every socket (1006) — and the browser tests rebuild web/dist while
  // the edge tests run beside them.
  const assetsDir = path.join(tmp.path, 'assets');
  if ((options.useRepoAssets ?? true) && existsSync(path.join(repoAssets, 'index.html'))) {
    cpSync(repoAssets, assetsDir, { recursive: true });
  } else {
    mkdirSync(assetsDir, { recursive: true });
    writeFileSync(path.join(assetsDir, 'index.html'), FIXTURE_INDEX_HTML);
  }
  const original = readFileSync(path.join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const config = original
    .replace(/^main = ".*"$/m, `main = ${JSON.stringify(path.join(REPO_ROOT, 'worker/index.ts'))}`)
    .replace(/^directory = ".*"$/m, `directory = ${JSON.stringify(assetsDir)}`);
  if (config === original) throw new Error('wrangler.toml: could not rewrite main/assets for the test copy');
  const configPath = path.join(tmp.path, 'wrangler.toml');
  writeFileSync(configPath, config);
  return { dir: tmp.path, configPath, assetsDir, remove: tmp.remove };
}

/** utime + stime of the processes in process group `pgid` whose command is `comm` (and whose command
 *  line contains `argument`, when given), in seconds. */
export function processGroupCpuSeconds(pgid: number, comm: string, argument?: string): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] = state (field 3), so field N is fields[N - 3]: pgrp = 5, utime = 14, stime = 15
    if (Number(fields[2]) !== pgid || !name.startsWith(comm)) continue;
    if (argument !== undefined) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmdline.includes(argument)) continue;
    }
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerSecond;
}

/** Resident memory (VmRSS) of the processes in process group `pgid` whose command is `comm`, in bytes. */
export function processGroupRssBytes(pgid: number, comm: string): number {
  let bytes = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue;
    }
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
    if (!name.startsWith(comm)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
    bytes += Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
  }
  return bytes;
}

/** TCP ports the processes of group `pgid` whose command line contains `argument` listen on (Linux /proc). */
export function processGroupListenPorts(pgid: number, comm: string, argument: string): number[] {
  const inodes = new Set<string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!name.startsWith(comm) || Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(argument)) continue;
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      }
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue; // 0A = LISTEN
      ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

export interface WranglerDev {
  readonly port: number;
  readonly url: string;
  readonly ingestUrl: string;
  readonly viewerUrl: string;
  readonly hubToken: string;
  readonly persistDir: string;
  /** stdout + stderr so far, for failure messages. */
  output(): string;
  /** CPU seconds (user + system) used so far by the workerd processes of this instance (Linux /proc). */
  workerdCpuSeconds(): number;
  /** The same for the workerd that runs the Worker and its Durable Objects only: `wrangler dev` also
   *  runs a second workerd, a proxy in front of it that relays every request and WebSocket frame again
   *  and that production does not have. */
  appWorkerdCpuSeconds(): number;
  /** Resident memory of all workerd processes of this instance, in bytes. */
  workerdRssBytes(): number;
  /** http:// base URL of the workerd that runs the Worker itself, behind `wrangler dev`'s proxy: a
   *  client there talks to the Worker and its objects without the proxy's extra hop (which production
   *  does not have). Found by asking each port that workerd listens on for /health. */
  appEntryUrl(): Promise<string>;
  /** Ends wrangler and workerd (the whole process group): SIGTERM by default, SIGKILL for a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface WranglerDevOptions {
  /** Extra [vars] (e.g. OFFLINE_AFTER_MS), passed as --var. */
  vars?: Record<string, string>;
  /** Reuse a state dir to restart "the same" objects; default: a fresh one in the temp dir. */
  persistDir?: string;
  hubToken?: string;
  startTimeoutMs?: number;
  /** Listen on this port (a restart on the port the hub forwards to); default: a free one. */
  port?: number;
}

export async function startWranglerDev(options: WranglerDevOptions = {}, attempt = 1): Promise<WranglerDev> {
  const files = writeEdgeConfig();
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = options.persistDir ?? path.join(files.dir, 'state');
  const hubToken = options.hubToken ?? 'test-hub-token-0123456789abcdef';
  const vars = { HUB_TOKEN: hubToken, ...options.vars };
  const args = [
    WRANGLER_BIN,
    'dev',
    '--config',
    files.configPath,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    persistDir,
    '--show-interactive-dev-session=false',
    '--log-level',
    'warn',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  let output = '';
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: files.dir,
    detached: true, // its own process group: stop() ends wrangler and workerd together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CI: '1',
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_LOG_PATH: path.join(files.dir, 'logs'),
      NO_COLOR: '1',
    },
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (stopped) return;
    stopped = true;
    if (!exited && child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
      const killTimer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5_000);
      await exit;
      clearTimeout(killTimer);
    }
    files.remove(); // the config copy, logs and the default state; a persistDir the caller gave lives outside it and stays
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`wrangler dev exited before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) {
        // The free port may have been taken by another program between freePort() and wrangler's bind
        // (another test file's or a benchmark's wrangler dev): then that one answered. Ours must listen.
        if (child.pid === undefined || processGroupListenPorts(child.pid, '', '').includes(port)) break;
        await stop();
        if (options.port === undefined && attempt < 3) return startWranglerDev(options, attempt + 1);
        throw new Error(`port ${port} answers /health, but not from this wrangler dev (another process holds it):\n${output}`);
      }
    } catch (err) {
      if (stopped) throw err;
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer /health within the timeout:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    url,
    ingestUrl: `ws://127.0.0.1:${port}/ingest`,
    viewerUrl: `ws://127.0.0.1:${port}/ws`,
    hubToken,
    persistDir,
    output: () => output,
    workerdCpuSeconds: () => (child.pid === undefined ? 0 : processGroupCpuSeconds(child.pid, 'workerd')),
    // The app's workerd is the one wrangler starts with an inspector; the proxy's has none.
    appWorkerdCpuSeconds: () => (child.pid === undefined ? 0 : processGroupCpuSeconds(child.pid, 'workerd', '--inspector-addr=')),
    workerdRssBytes: () => (child.pid === undefined ? 0 : processGroupRssBytes(child.pid, 'workerd')),
    async appEntryUrl() {
      for (const p of child.pid === undefined ? [] : processGroupListenPorts(child.pid, 'workerd', '--inspector-addr=')) {
        try {
          const res = await fetch(`http://127.0.0.1:${p}/health`, { signal: AbortSignal.timeout(2_000) });
          if (res.ok && ((await res.json()) as { mode?: string }).mode === 'edge') return `http://127.0.0.1:${p}`;
        } catch {
          /* the inspector or debug port */
        }
      }
      throw new Error('the Worker\'s own workerd port was not found');
    },
    stop,
  };
}
