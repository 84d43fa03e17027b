// CI build checks for the edge: the Worker and Durable Object code typecheck against the Workers
// runtime types (worker/tsconfig.json), and `wrangler deploy --dry-run` bundles the real config.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO_ROOT, writeEdgeConfig } from '../edge/wrangler-dev.ts';

const run = promisify(execFile);

it('typechecks worker/ and durable-objects/ with the Workers types', async () => {
  await run(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(REPO_ROOT, 'worker/tsconfig.json')], {
    cwd: REPO_ROOT,
  });
}, 90_000);

it('builds with wrangler deploy --dry-run', async () => {
  const files = writeEdgeConfig();
  try {
    const outdir = path.join(files.dir, 'out');
    const { stdout } = await run(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, '--config', files.configPath],
      { cwd: files.dir, env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: path.join(files.dir, 'logs') } },
    );
    expect(stdout).toMatch(/FLEET_RELAY[\s\S]*FleetRelay/);
    expect(stdout).toContain('--dry-run: exiting now.');
    const bundle = readdirSync(outdir).find((f) => f.endsWith('.js'));
    expect(bundle).toBeDefined();
    const code = readFileSync(path.join(outdir, bundle!), 'utf8');
    expect(code).toMatch(/(class FleetRelay|FleetRelay = class) extends DurableObject/);
    expect(code).toMatch(/(class FleetCoordinator|FleetCoordinator = class) extends DurableObject/);
    expect(existsSync(files.assetsDir)).toBe(true);
  } finally {
    files.remove();
  }
}, 90_000);
