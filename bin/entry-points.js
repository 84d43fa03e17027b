// Which files `sysmonstm` runs: the TypeScript sources in a checkout, the JavaScript that
// scripts/build.ts makes (dist/) once installed. Decided by where the command is, never by file times:
// under a node_modules folder (Node strips no types there) or when the sources are not next to it (the
// package ships none), the built files run; otherwise the sources. Plain JavaScript, so choosing costs
// no type stripping.
import path from 'node:path';

/**
 * @param {string} root the package root (the folder holding bin/)
 * @param {(file: string) => boolean} exists
 */
export function entryPoints(root, exists) {
  const built = { mode: 'built', hub: path.join(root, 'dist', 'hub.mjs'), collector: path.join(root, 'dist', 'collector.mjs') };
  const sources = { mode: 'sources', hub: path.join(root, 'hub', 'main.ts'), collector: path.join(root, 'collector', 'main.ts') };
  if (path.resolve(root).split(path.sep).includes('node_modules')) return { ...built, reason: 'installed under node_modules' };
  if (!exists(sources.hub)) return { ...built, reason: 'no sources next to bin/' };
  return { ...sources, reason: 'a checkout (the sources are here)' };
}
