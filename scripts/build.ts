// The one build: everything the npm package runs, as JavaScript, because Node strips no types under
// node_modules. `npm pack` runs it (prepack); a checkout runs the TypeScript sources and needs none of it.
//   - web/dist: the dashboard (web/build.ts), served by the hub and the Worker;
//   - dist/hub.mjs: the hub and, for `sysmonstm all`, the local collector (one file; packages stay
//     imports from node_modules, so they must all be `dependencies`);
//   - dist/collector.mjs (and dist/collector.cjs, the same as CommonJS for the re-executed collector,
//     bin/collector.cjs): the collector alone, minified with its dependencies inlined: Node's type
//     stripping and the unused parts of the dependencies would cost a process that runs on every
//     machine tens of MB. Parts only some machines need load on demand: the systeminformation sampler
//     from a chunk in dist/collector-chunks/, pino and pino-pretty (LOG_FORMAT=pretty) from node_modules.
// The bundles sit one folder below the package root, as the sources do, so the files they read at run
// time resolve the same from both: ../package.json, ../web/dist/, ../schema/*.sql (shipped as they are).
// Every package a bundle imports at run time is checked to be in `dependencies`: an install with
// --omit=dev has nothing else.
// Progress goes to stderr (`npm pack --json` keeps stdout). Run: `npm run build` (= node scripts/build.ts) [web] [hub] [collector] [--outdir DIR] (default: all, dist/).
import { readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = path.join(ROOT, 'dist');
export const HUB_BUNDLE_NAME = 'hub.mjs';
export const COLLECTOR_BUNDLE_NAME = 'collector.mjs';
export const COLLECTOR_CJS_BUNDLE_NAME = 'collector.cjs';
const CHUNK_DIR = 'collector-chunks';

// CommonJS code in a bundle calls require() for Node's built-in modules.
const REQUIRE_BANNER = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";

export interface BuiltBundle {
  file: string;
  bytes: number;
  /** Packages the bundle imports at run time (from node_modules). */
  packages: string[];
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The packages a bundle imports that are not Node built-ins. */
function importedPackages(result: esbuild.BuildResult<{ metafile: true }>): string[] {
  const builtins = new Set(builtinModules);
  const names = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || imp.path.startsWith('node:') || imp.path.startsWith('.') || builtins.has(imp.path.split('/')[0])) continue;
      names.add(packageName(imp.path));
    }
  }
  return [...names].sort();
}

/** Required inside try/catch by systeminformation, on macOS only, and not declared by it: absent is fine. */
const OPTIONAL_AT_RUN_TIME = new Set(['osx-temperature-sensor', 'macos-temperature-sensor']);

/** Packages imported at run time that an install with --omit=dev would not have. */
export function missingDependencies(packages: readonly string[], manifest: { dependencies?: Record<string, string> }): string[] {
  return packages.filter((name) => !OPTIONAL_AT_RUN_TIME.has(name) && !(name in (manifest.dependencies ?? {})));
}

function bundleInfo(result: esbuild.BuildResult<{ metafile: true }>, file: string): BuiltBundle {
  const bytes = Object.entries(result.metafile.outputs).find(([name]) => path.resolve(name) === file)?.[1].bytes ?? 0;
  return { file, bytes, packages: importedPackages(result) };
}

/**
 * Connect's Node client imports node:http and node:https for its HTTP/1.1 transports, which the
 * collector never uses (gRPC runs on node:http2). An ESM import of node:http reads all its exports,
 * and its WebSocket getter loads undici: 5 MiB of the collector's memory. In the collector bundle
 * those two imports become a `request` that takes the module with process.getBuiltinModule on its
 * first call. (The global Headers is replaced for the same reason: collector/bundle-main.ts.)
 */
const lazyHttpForConnect: esbuild.Plugin = {
  name: 'lazy-http-for-connect',
  setup(build) {
    build.onResolve({ filter: /^node:https?$/ }, (args) =>
      /[\\/]@connectrpc[\\/]connect-node[\\/]/.test(args.importer) ? { path: args.path, namespace: 'lazy-builtin' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `export function request(...args) { return process.getBuiltinModule(${JSON.stringify(args.path)}).request(...args); }`,
      loader: 'js',
    }));
  },
};

export async function buildCollector(outdir = DIST_DIR): Promise<BuiltBundle> {
  rmSync(path.join(outdir, CHUNK_DIR), { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { collector: path.join(ROOT, 'collector', 'bundle-main.ts') },
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
    plugins: [lazyHttpForConnect],
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  // The same collector as CommonJS, one file: what bin/collector.cjs runs when `sysmonstm collector`
  // re-executes node with its options (bin/collector-node-options.js). A process whose entry is
  // CommonJS never starts Node's ESM loader: 2 MiB less resident. systeminformation stays a package
  // (required off Linux only), as pino for pretty logs.
  const cjs = await esbuild.build({
    entryPoints: [path.join(ROOT, 'collector', 'bundle-main.ts')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    outfile: path.join(outdir, COLLECTOR_CJS_BUNDLE_NAME),
    minify: true,
    legalComments: 'none',
    external: ['pino', 'pino-pretty', 'systeminformation'],
    metafile: true,
    logLevel: 'warning',
  });
  const info = bundleInfo(result, path.join(outdir, COLLECTOR_BUNDLE_NAME));
  return { ...info, packages: [...new Set([...info.packages, ...importedPackages(cjs)])].sort() };
}

export async function buildHub(outdir = DIST_DIR): Promise<BuiltBundle> {
  const result = await esbuild.build({
    entryPoints: { hub: path.join(ROOT, 'hub', 'main.ts') },
    bundle: true,
    // One file: the local collector of `sysmonstm all` is inlined, so every module sits in dist/.
    splitting: false,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    outdir,
    outExtension: { '.js': '.mjs' },
    // The hub's dependencies load from node_modules (PGlite finds its WASM files next to its own code).
    packages: 'external',
    minify: false,
    legalComments: 'none',
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  return bundleInfo(result, path.join(outdir, HUB_BUNDLE_NAME));
}

const PARTS = ['web', 'hub', 'collector'] as const;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = at >= 0 ? path.resolve(args[at + 1]) : DIST_DIR;
  const named = args.filter((a, i) => (PARTS as readonly string[]).includes(a) && args[i - 1] !== '--outdir');
  const parts = named.length ? named : PARTS;
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  // A full build starts from an empty dist/: nothing left from an older layout goes into a package.
  if (parts.includes('hub') && parts.includes('collector')) rmSync(outdir, { recursive: true, force: true });
  let failed = false;
  for (const part of parts) {
    const started = Date.now();
    if (part === 'web') {
      // Imported only here: the collector image builds its bundle without web/.
      const { buildWeb } = await import('../web/build.ts');
      const { jsBytes, cssBytes } = await buildWeb();
      process.stderr.write(`web/dist built in ${Date.now() - started} ms: app.js ${(jsBytes / 1024).toFixed(1)} KiB, app.css ${(cssBytes / 1024).toFixed(1)} KiB\n`);
      continue;
    }
    const built = part === 'hub' ? await buildHub(outdir) : await buildCollector(outdir);
    process.stderr.write(`${path.relative(process.cwd(), built.file)} built in ${Date.now() - started} ms: ${(built.bytes / 1024).toFixed(1)} KiB\n`);
    const missing = missingDependencies(built.packages, manifest);
    if (missing.length) {
      process.stderr.write(`${part}: imports ${missing.join(', ')} at run time, but package.json has ${missing.length > 1 ? 'them' : 'it'} only in devDependencies or not at all\n`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
}
