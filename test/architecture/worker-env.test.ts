// The Worker's Env is generated from wrangler.toml (`npm run types:worker`); a change to the bindings or
// [vars] without regenerating fails here, as `wrangler types --check` does.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

it('worker/worker-configuration.d.ts is what `wrangler types` makes of wrangler.toml', async () => {
  const { stdout } = await run(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'types', 'worker/worker-configuration.d.ts', '--include-runtime=false', '--strict-vars=false', '--check'],
    { cwd: REPO_ROOT, env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false' } },
  );
  expect(stdout).toContain('up to date');
}, 60_000);
