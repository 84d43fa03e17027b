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
  const hubBundle = path.join(root, 'dist', 'hub.mjs');
  const collectorBundle = path.join(root, 'dist', 'collector.mjs');
  const built = { mode: 'built', hub: hubBundle, collector: collectorBundle, hubUsage: hubBundle, collectorUsage: collectorBundle };
  // From the sources, help loads only the usage modules (and the config they list), not the whole hub.
  const sources = {
    mode: 'sources',
    hub: path.join(root, 'hub', 'main.ts'),
    collector: path.join(root, 'collector', 'main.ts'),
    hubUsage: path.join(root, 'hub', 'usage.ts'),
    collectorUsage: path.join(root, 'collector', 'usage.ts'),
  };
  if (path.resolve(root).split(path.sep).includes('node_modules')) return { ...built, reason: 'installed under node_modules' };
  if (!exists(sources.hub)) return { ...built, reason: 'no sources next to bin/' };
  return { ...sources, reason: 'a checkout (the sources are here)' };
}
