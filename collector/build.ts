// Builds the collector into one minified ES module, dist/collector.mjs, which `sysmonstm collector`
// runs instead of the TypeScript sources while it is not older than them (bin/collector-module.js).
// Why: Node's type stripping and the unused parts of the dependencies cost the collector's process
// tens of MB of memory; a small agent on every machine should not pay that. Parts only some machines
// need (the systeminformation sampler, the pretty log format) are loaded on demand: the sampler from a
// chunk next to the bundle, pino and pino-pretty from node_modules (left out of the bundle).
// Run: `npm run build:collector` (= node collector/build.ts) [--outdir DIR] (default: dist/).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COLLECTOR_BUNDLE_NAME = 'collector.mjs';
const CHUNK_DIR = 'collector-chunks';

export async function buildCollector(outdir = path.join(ROOT, 'dist')): Promise<{ file: string; bytes: number }> {
  rmSync(path.join(outdir, CHUNK_DIR), { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { collector: path.join(ROOT, 'collector', 'main.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
    minify: true,
    legalComments: 'none',
    // Loaded only for LOG_FORMAT=pretty; pino starts pino-pretty in a worker thread by module name.
    external: ['pino', 'pino-pretty'],
    // CommonJS dependencies call require() for Node's built-in modules.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  });
  const file = path.join(outdir, COLLECTOR_BUNDLE_NAME);
  const bytes = Object.entries(result.metafile!.outputs).find(([name]) => path.resolve(name) === file)?.[1].bytes ?? 0;
  return { file, bytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--outdir');
  const outdir = at >= 0 ? path.resolve(process.argv[at + 1]) : undefined;
  const started = Date.now();
  const { file, bytes } = await buildCollector(outdir);
  process.stdout.write(`${path.relative(process.cwd(), file)} built in ${Date.now() - started} ms: ${(bytes / 1024).toFixed(1)} KiB\n`);
}
