// Which module `sysmonstm collector` runs: the bundle dist/collector.mjs (npm run build:collector) when
// it exists and no source it was built from is newer, else collector/main.ts from source. A stale
// bundle never runs: any file under collector/ or proto/, or package.json, changed after the build
// sends the command back to the sources. Plain JavaScript, so choosing costs no type stripping.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const SOURCE_DIRS = ['collector', 'proto'];
const SOURCE_FILES = ['package.json'];

/** Newest modification time (ms) of the files under `dir`, or 0 when there is none. */
function newestMtimeMs(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(full));
    else if (entry.isFile()) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** @param {string} root the package root (the folder holding bin/, collector/, dist/) */
export function collectorModule(root) {
  const bundle = path.join(root, 'dist', 'collector.mjs');
  const source = path.join(root, 'collector', 'main.ts');
  let builtMs;
  try {
    builtMs = statSync(bundle).mtimeMs;
  } catch {
    return { kind: 'source', file: source, reason: 'no bundle' };
  }
  for (const dir of SOURCE_DIRS) {
    if (newestMtimeMs(path.join(root, dir)) > builtMs) return { kind: 'source', file: source, reason: `${dir}/ changed after the bundle was built` };
  }
  for (const file of SOURCE_FILES) {
    let mtimeMs = 0;
    try {
      mtimeMs = statSync(path.join(root, file)).mtimeMs;
    } catch {
      /* absent */
    }
    if (mtimeMs > builtMs) return { kind: 'source', file: source, reason: `${file} changed after the bundle was built` };
  }
  return { kind: 'bundle', file: bundle, reason: 'bundle up to date' };
}
