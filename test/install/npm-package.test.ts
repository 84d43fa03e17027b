// The npm package as a user gets it: `npm pack` in a clean copy of the repository (its prepack runs
// the build), the tarball installed with --omit=dev into an empty folder (dependencies from the npm
// cache or the registry, as npm does), then `npx sysmonstm --version`, `npx sysmonstm collector
// --help`, and `npx sysmonstm hub` with a collector from that install, until the machine shows in
// /api/machines. The install holds no TypeScript to run and no dev dependency.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, runProgram, type CliProcess } from '../support/hub-process.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';

const run = promisify(execFile);
const NODE_BIN = path.dirname(process.execPath);
// npm and npx from PATH (this Node's folder may hold none); they run on the Node first on PATH: this one.
const NPM = 'npm';
const NPX = 'npx';
const dir = tempDir('npm-package');
const app = path.join(dir.path, 'app');
const installed = path.join(app, 'node_modules', 'sysmonstm');
// npm and the programs it starts find this Node first; no LOG_FORMAT, no DATA_DIR from the caller.
const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${NODE_BIN}${path.delimiter}${process.env.PATH ?? ''}`, LOG_FORMAT: '', DATA_DIR: '', LOG_LEVEL: 'info', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
const timings: Record<string, number> = {};
const children: CliProcess[] = [];

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - started;
  }
}

beforeAll(async () => {
  // A clean copy of the tracked files (what a fresh clone has) with the checkout's node_modules: the
  // build must not touch this worktree's web/dist, which other test files serve while this one runs.
  const source = path.join(dir.path, 'source');
  await timed('clean copy', async () => {
    const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    for (const file of stdout.split('\0')) {
      if (!file || !existsSync(path.join(ROOT, file))) continue;
      mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
      cpSync(path.join(ROOT, file), path.join(source, file));
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'));
  });
  const { stdout: packed } = await timed('npm pack (with the build)', () => run(NPM, ['pack', '--json', '--pack-destination', dir.path], { cwd: source, env, maxBuffer: 16 * 1024 * 1024 }));
  const tarball = path.join(dir.path, (JSON.parse(packed) as Array<{ filename: string }>)[0].filename);

  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'trying-sysmonstm', private: true }));
  await timed('npm install --omit=dev', () => run(NPM, ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, env, maxBuffer: 16 * 1024 * 1024 }));
}, 300_000);

afterAll(async () => {
  for (const child of children) await child.stop('SIGKILL', 5_000);
  dir.remove();
  console.log(`npm package: ${Object.entries(timings).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
});

describe('the installed npm package', () => {
  test('ships JavaScript, no TypeScript sources, and installs without dev dependencies', () => {
    expect(existsSync(path.join(installed, 'dist', 'hub.mjs'))).toBe(true);
    expect(existsSync(path.join(installed, 'dist', 'collector.mjs'))).toBe(true);
    expect(existsSync(path.join(installed, 'web', 'dist', 'index.html'))).toBe(true);
    for (const folder of ['hub', 'collector', 'proto', 'test']) expect(existsSync(path.join(installed, folder)), folder).toBe(false);
    const modules = readdirSync(path.join(app, 'node_modules'));
    for (const dev of ['esbuild', 'vitest', 'typescript', 'wrangler']) expect(modules, dev).not.toContain(dev);
    expect(modules).toContain('yaml');
    // The embedded database is upstream PGlite; the TimescaleDB build is a dev dependency only.
    expect(existsSync(path.join(app, 'node_modules', '@electric-sql', 'pglite', 'dist', 'pglite.wasm'))).toBe(true);
    expect(modules).not.toContain('@unni-craftsman');
  });

  test('npx sysmonstm --version and collector --help', async () => {
    const version = await timed('npx --version', () => run(NPX, ['--no-install', 'sysmonstm', '--version'], { cwd: app, env }));
    expect(version.stdout.trim()).toMatch(/^sysmonstm \d+\.\d+\.\d+$/);
    const help = await run(NPX, ['--no-install', 'sysmonstm', 'collector', '--help'], { cwd: app, env });
    expect(help.stdout).toContain('Usage: sysmonstm collector');
    for (const flag of ['--hub URL', '--id ID', '--label KEY=VALUE', '--token TOKEN', '--hub-ca FILE']) expect(help.stdout).toContain(flag);
  });

  test('npx sysmonstm hub and a collector from the install: the machine is in /api/machines', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const started = Date.now();
    const hub = runProgram(NPX, ['--no-install', 'sysmonstm', 'hub', '--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--grpc-host', '127.0.0.1', '--data-dir', path.join(dir.path, 'hub-data')], { cwd: app, env, group: true });
    children.push(hub);
    const api = `http://127.0.0.1:${httpPort}`;
    await waitFor('the installed hub to answer /health', async () => (await fetch(`${api}/health`)).ok, 120_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub.output()}`);
    });
    timings['hub start'] = Date.now() - started;
    const collector = runProgram(NPX, ['--no-install', 'sysmonstm', 'collector', '--hub', `http://127.0.0.1:${grpcPort}`, '--id', 'from-the-package', '--interval', '0.5', '--data-dir', path.join(dir.path, 'collector-data')], { cwd: app, env, group: true });
    children.push(collector);
    const machine = await waitFor(
      'the collector machine in /api/machines',
      async () => {
        if (collector.child.exitCode !== null) throw new Error(`the collector exited: ${collector.output()}`);
        const machines = (await (await fetch(`${api}/api/machines`)).json()) as Array<{ id: string; lastSeq: number }>;
        return machines.find((m) => m.id === 'from-the-package' && m.lastSeq > 0);
      },
      60_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- hub\n${hub.output()}\n--- collector\n${collector.output()}`);
    });
    timings['hub start to machine listed'] = Date.now() - started;
    expect(machine.lastSeq).toBeGreaterThan(0);
    // The embedded database was set up from the package's schema files: upstream PGlite, plain path.
    expect(hub.output()).toContain('history: schema migrated');
    const info = (await (await fetch(`${api}/api/info`)).json()) as { history: string; database: Record<string, string> };
    expect(info.database).toMatchObject({ kind: 'embedded', engine: '@electric-sql/pglite', path: 'postgres' });
    // History is written into it and read back.
    await waitFor(
      'history of the collector machine',
      async () => {
        const res = await fetch(`${api}/api/machines/from-the-package/history?metric=memory_percent&step=raw&from=${started - 60_000}`);
        return res.ok && ((await res.json()) as { points: unknown[] }).points.length > 0;
      },
      20_000,
      250,
    );
    // SIGTERM to the process group: npx and the node it started; npx ends by the signal, the hub by closing.
    expect([0, 'SIGTERM']).toContain(await collector.stop());
    expect([0, 'SIGTERM']).toContain(await hub.stop());
    await waitFor('the hub to log its clean stop', () => hub.output().includes('hub stopped'), 15_000);
  }, 240_000);
});
