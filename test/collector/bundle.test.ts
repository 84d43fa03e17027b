// The built collector (dist/collector.mjs, `npm run build:collector`) run the way users run it:
// `node bin/sysmonstm.js collector` in a package folder holding the bundle but no collector sources,
// so only the bundle can be what reports to the hub. And the staleness rule: a source newer than the
// bundle sends the command back to the sources.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorModule } from '../../bin/collector-module.js';
import { buildCollector } from '../../collector/build.ts';
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
    expect(collectorModule(packageRoot)).toMatchObject({ kind: 'bundle', file: bundleFile });
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

  it('is passed over for the sources when one of them is newer, or when there is none', () => {
    const builtS = statSync(bundleFile).mtimeMs / 1000;
    const newer = (file: string) => {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, '// changed\n');
      utimesSync(file, builtS + 10, builtS + 10);
    };
    const older = (file: string) => utimesSync(file, builtS - 10, builtS - 10);

    newer(path.join(packageRoot, 'collector', 'config.ts'));
    expect(collectorModule(packageRoot)).toMatchObject({ kind: 'source', file: path.join(packageRoot, 'collector', 'main.ts') });
    older(path.join(packageRoot, 'collector', 'config.ts'));
    expect(collectorModule(packageRoot).kind).toBe('bundle');

    newer(path.join(packageRoot, 'proto', 'gen', 'sysmonstm', 'v1', 'report_pb.js'));
    expect(collectorModule(packageRoot)).toMatchObject({ kind: 'source', reason: expect.stringContaining('proto/') });
    rmSync(path.join(packageRoot, 'proto'), { recursive: true });

    utimesSync(path.join(packageRoot, 'package.json'), builtS + 10, builtS + 10);
    expect(collectorModule(packageRoot)).toMatchObject({ kind: 'source', reason: expect.stringContaining('package.json') });
    older(path.join(packageRoot, 'package.json'));
    expect(collectorModule(packageRoot).kind).toBe('bundle');

    // Same time as the sources (npm pack gives every file one date): the bundle is not older, so it runs.
    utimesSync(path.join(packageRoot, 'collector', 'config.ts'), builtS, builtS);
    expect(collectorModule(packageRoot).kind).toBe('bundle');

    rmSync(path.join(packageRoot, 'dist'), { recursive: true });
    expect(collectorModule(packageRoot)).toMatchObject({ kind: 'source', reason: 'no bundle' });
  });
});
