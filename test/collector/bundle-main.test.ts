// The built collector (dist/collector.mjs, scripts/build.ts) run the way users run it: `node
// bin/sysmonstm.js collector` in a package folder holding the bundle but no sources, so only the bundle
// can be what reports to the hub. And the rule that picks it: by where the command is, not by file times.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryPoints } from '../../bin/entry-points.js';
import { buildCollector, buildHub, missingDependencies } from '../../scripts/build.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ROOT } from '../support/hub-process.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';

const dir = tempDir('collector-bundle');
const packageRoot = path.join(dir.path, 'package');
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let hub: Hub;
let bundleFile: string;

beforeAll(async () => {
  mkdirSync(packageRoot);
  cpSync(path.join(ROOT, 'bin'), path.join(packageRoot, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(packageRoot, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(packageRoot, 'node_modules'));
  ({ file: bundleFile } = await buildCollector(path.join(packageRoot, 'dist')));
  db = await createTestDatabase();
  const config = parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: path.join(dir.path, 'hub'), TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05' });
  hub = await startHub(config, { log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await db?.drop();
  dir.remove();
});

describe('the collector bundle', () => {
  it('is what `sysmonstm collector` runs, and it reports to a real hub', async () => {
    expect(entryPoints(packageRoot, existsSync)).toMatchObject({ mode: 'built', collector: bundleFile });
    const child: ChildProcess = spawn(
      process.execPath,
      [path.join(packageRoot, 'bin', 'sysmonstm.js'), 'collector', '--hub', `http://127.0.0.1:${hub.grpcPort}`, '--id', 'bundled', '--interval', '0.2', '--data-dir', path.join(dir.path, 'collector')],
      { cwd: dir.path, env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
    try {
      const metrics = await waitFor(
        'a report from the bundled collector',
        async () => {
          if (child.exitCode !== null) throw new Error(`the collector exited: ${output}`);
          const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/bundled/metrics`);
          const body = res.ok ? ((await res.json()) as { lastSeq: number }) : undefined;
          return body && body.lastSeq > 0 ? body : undefined;
        },
        20_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${output}`);
      });
      expect(metrics.lastSeq).toBeGreaterThan(0);
      expect(output).toContain('"msg":"collector started"');
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      expect(await exited).toBe(0);
      clearTimeout(timer);
    }
  }, 40_000);

  it('is chosen by where the command is: built under node_modules or without sources, else the sources', () => {
    const none = () => false;
    const all = () => true;
    expect(entryPoints('/app/node_modules/sysmonstm', all)).toMatchObject({ mode: 'built', hub: '/app/node_modules/sysmonstm/dist/hub.mjs', collector: '/app/node_modules/sysmonstm/dist/collector.mjs' });
    expect(entryPoints('/usr/lib/node_modules/sysmonstm/', all).mode).toBe('built');
    expect(entryPoints('/opt/sysmonstm', none)).toMatchObject({ mode: 'built', reason: 'no sources next to bin/' });
    expect(entryPoints('/home/me/sysmonstm', (f) => f === '/home/me/sysmonstm/hub/main.ts')).toMatchObject({ mode: 'sources', hub: '/home/me/sysmonstm/hub/main.ts', collector: '/home/me/sysmonstm/collector/main.ts' });
    // A folder merely named like it is not node_modules.
    expect(entryPoints('/home/me/node_modules_backup/sysmonstm', all).mode).toBe('sources');
    expect(entryPoints(ROOT, existsSync).mode).toBe('sources');
  });

  it('imports at run time only packages that are dependencies (an --omit=dev install has nothing else)', async () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const hubBundle = await buildHub(path.join(dir.path, 'hub-dist'));
    expect(hubBundle.packages).toEqual(expect.arrayContaining(['@connectrpc/connect-node', 'pino', 'zod']));
    expect(missingDependencies(hubBundle.packages, manifest)).toEqual([]);
    expect(missingDependencies((await buildCollector(path.join(dir.path, 'collector-dist'))).packages, manifest)).toEqual([]);
    // The check itself: a dev dependency imported at run time is caught.
    expect(missingDependencies(['vitest', 'pino'], manifest)).toEqual(['vitest']);
  });
});
