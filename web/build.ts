// Builds the dashboard into web/dist (index.html, app.js, app.css, favicon.svg) with esbuild: one
// bundle for the hub and the Worker alike, no inline scripts (the CSP forbids them), asset URLs
// stamped with a content hash so a new build is never mixed with a cached old one.
// Run: `npm run build:web` (= node web/build.ts); `--watch` rebuilds on change; `--dev` skips minifying.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const WEB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DIST_DIR = path.join(WEB_DIR, 'dist');

function shortHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
}

function writeIndex(): void {
  const html = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8')
    .replace('%JS_HASH%', shortHash(path.join(DIST_DIR, 'app.js')))
    .replace('%CSS_HASH%', shortHash(path.join(DIST_DIR, 'app.css')));
  writeFileSync(path.join(DIST_DIR, 'index.html'), html);
  copyFileSync(path.join(WEB_DIR, 'favicon.svg'), path.join(DIST_DIR, 'favicon.svg'));
}

const options: esbuild.BuildOptions = {
  entryPoints: { app: path.join(WEB_DIR, 'src', 'main.ts') },
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  outdir: DIST_DIR,
  // `--dev`: readable output for profiling.
  minify: !process.argv.includes('--dev'),
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};

export async function buildWeb(): Promise<{ jsBytes: number; cssBytes: number }> {
  rmSync(DIST_DIR, { recursive: true, force: true });
  mkdirSync(DIST_DIR, { recursive: true });
  const result = await esbuild.build(options);
  writeIndex();
  const outputs = result.metafile!.outputs;
  const size = (suffix: string) => Object.entries(outputs).find(([name]) => name.endsWith(suffix))?.[1].bytes ?? 0;
  return { jsBytes: size('app.js'), cssBytes: size('app.css') };
}

/** Builds only when web/dist has no index.html yet: tests must not rebuild (and briefly delete) the
 *  assets that a running hub or `wrangler dev` of another test file is serving. `npm test` builds first. */
export async function ensureWebBuilt(): Promise<void> {
  if (!existsSync(path.join(DIST_DIR, 'index.html'))) await buildWeb();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--watch')) {
    const ctx = await esbuild.context({
      ...options,
      plugins: [{ name: 'index-html', setup: (b) => b.onEnd((r) => (r.errors.length === 0 ? writeIndex() : undefined)) }],
    });
    mkdirSync(DIST_DIR, { recursive: true });
    await ctx.watch();
    process.stdout.write(`watching web/src → ${path.relative(process.cwd(), DIST_DIR)}\n`);
  } else {
    const started = Date.now();
    const { jsBytes, cssBytes } = await buildWeb();
    process.stdout.write(`web/dist built in ${Date.now() - started} ms: app.js ${(jsBytes / 1024).toFixed(1)} KiB, app.css ${(cssBytes / 1024).toFixed(1)} KiB\n`);
  }
}
