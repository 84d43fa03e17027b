// The committed proto/gen must be what `npm run generate` produces from proto/sysmonstm/v1.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))],
  );
}

test('proto/gen is up to date with the .proto files', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'sysmonstm-gen-'));
  try {
    cpSync(path.join(root, 'proto'), path.join(work, 'proto'), { recursive: true, filter: (src) => !src.includes(`${path.sep}gen`) });
    const buf = path.join(root, 'node_modules', '.bin', 'buf');
    execFileSync(buf, ['generate', 'proto', '--template', 'proto/buf.gen.yaml'], {
      cwd: work,
      env: { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` },
      stdio: 'pipe',
    });
    const fresh = path.join(work, 'proto', 'gen');
    const committed = path.join(root, 'proto', 'gen');
    expect(listFiles(fresh).sort()).toEqual(listFiles(committed).sort());
    for (const file of listFiles(fresh)) {
      expect(readFileSync(path.join(committed, file), 'utf8'), `${file} differs: run npm run generate`).toBe(readFileSync(path.join(fresh, file), 'utf8'));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
