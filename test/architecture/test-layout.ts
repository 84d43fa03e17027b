// Where a test file may live, for the architecture test: a suite about the whole system sits in a
// themed folder (test/e2e, test/faults, ...); every other file under test/ mirrors the source it tests
// (test/hub/alerts/evaluate.test.ts ↔ hub/alerts/evaluate.ts), so it sits in a directory that exists
// in the sources and is named after a module there (`<module>.test.ts`, `<module>.<aspect>.test.ts`).
// test/edge holds only the suites that start the real Worker under `wrangler dev`. Pure apart from
// listing (and, for test/edge, reading) the files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Folders of suites about the whole system (or shared by all suites): named by theme, not by source.
 *  `edge`: the suites that run the real Worker under `wrangler dev` (EDGE_THEME), and their helpers. */
export const THEMED = ['e2e', 'integration', 'faults', 'bad-input', 'deploy', 'install', 'cli', 'bench', 'architecture', 'support', 'fixtures', 'edge'] as const;

/** The `wrangler dev` folder: each test file there starts the real Worker (`startWranglerDev`); a test
 *  of one module belongs next to the others of its source instead. */
export const EDGE_THEME = 'edge';

/** Whether a test file's source starts the Worker under `wrangler dev` (test/edge/wrangler-dev.ts). */
export function startsWranglerDev(source: string): boolean {
  return /\bstartWranglerDev\(/.test(source);
}

/** Test files under test/<EDGE_THEME> (relative to test/) whose source does not start `wrangler dev`;
 *  `read` gives a file's source. Helpers (files that are not tests) are not asked. */
export function edgeFilesWithoutWrangler(files: readonly string[], read: (file: string) => string): string[] {
  return files.filter((file) => file.startsWith(`${EDGE_THEME}/`) && file.endsWith('.test.ts') && !startsWranglerDev(read(file)));
}

/** test/<first segment> ↔ the source directory it mirrors. */
export const MIRRORS: Readonly<Record<string, string>> = {
  hub: 'hub',
  collector: 'collector',
  proto: 'proto',
  web: 'web/src',
  'durable-objects': 'durable-objects',
  worker: 'worker',
  schema: 'schema',
};

/** Every file under `dir` (relative to it, forward slashes). */
export function listFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(join(root, rel)).isDirectory()) out.push(...listFiles(root, rel));
    else out.push(rel);
  }
  return out;
}

/** The source directory a test file's directory mirrors (`hub/alerts/x.test.ts` → `hub/alerts`), or null. */
export function mirroredSourceDir(testFile: string): string | null {
  const parts = testFile.split('/').slice(0, -1);
  const source = parts.length > 0 ? MIRRORS[parts[0]] : undefined;
  return source === undefined ? null : [source, ...parts.slice(1)].join('/');
}

/**
 * The source a test file in a mirrored folder is named after, the part of its name before the first
 * dot, in the directory it mirrors: `hub/alerts/alert-engine.offline-tick.test.ts` →
 * `hub/alerts/alert-engine` (the module `alert-engine.ts`, or a source directory of that name such as
 * `proto/gen`). Null for a file that is not a test (a helper, a contract suite) or not in a mirrored folder.
 */
export function testedSource(testFile: string): string | null {
  const source = mirroredSourceDir(testFile);
  const name = testFile.split('/').pop()!;
  if (source === null || !name.endsWith('.test.ts')) return null;
  return `${source}/${name.split('.')[0]}`;
}

export interface LayoutProblems {
  /** Files (relative to test/) neither in a themed folder nor in a directory the sources have (code
   *  at the top of test/ included; configuration there, such as a tsconfig, is allowed). */
  misplaced: string[];
  /** Test files in a mirrored folder whose name is no module (nor source directory) there. */
  unnamed: string[];
  /** Allow-listed folders that hold no file any more, and allow-listed names that are not (or no
   *  longer) unnamed: the entry is to be removed. */
  staleExceptions: string[];
}

/**
 * Checks `files` (relative to test/). `sourceDirExists` says whether a repository directory exists,
 * `sourceExists` whether a module (`<path>.ts`) or directory of that path does; `exceptions` are
 * folders under test/ still laid out by theme, `unnamedExceptions` test files still named by theme,
 * allowed until they move or are renamed.
 */
export function layoutProblems(
  files: readonly string[],
  sourceDirExists: (dir: string) => boolean,
  exceptions: readonly string[],
  sourceExists: (path: string) => boolean = () => true,
  unnamedExceptions: readonly string[] = [],
): LayoutProblems {
  const under = (file: string, folder: string) => file.startsWith(`${folder}/`);
  const misplaced = files.filter((file) => {
    if (THEMED.some((t) => under(file, t)) || exceptions.some((e) => under(file, e))) return false;
    if (!file.includes('/') && !/\.[cm]?[jt]s$/.test(file)) return false; // configuration (a tsconfig) at the top
    const source = mirroredSourceDir(file);
    return source === null || !sourceDirExists(source);
  });
  const named = files.filter((file) => !exceptions.some((e) => under(file, e)) && !misplaced.includes(file));
  const unnamedAll = named.filter((file) => {
    const tested = testedSource(file);
    return tested !== null && !sourceExists(tested);
  });
  const unnamed = unnamedAll.filter((file) => !unnamedExceptions.includes(file));
  const staleExceptions = [
    ...exceptions.filter((e) => !files.some((file) => under(file, e))),
    ...unnamedExceptions.filter((file) => !unnamedAll.includes(file)),
  ];
  return { misplaced, unnamed, staleExceptions };
}

/** The real tree: files under <repo>/test, sources under <repo>. */
export function repositoryLayoutProblems(repoRoot: string, exceptions: readonly string[], unnamedExceptions: readonly string[] = []): LayoutProblems {
  const files = listFiles(join(repoRoot, 'test'));
  const isDir = (dir: string) => existsSync(join(repoRoot, dir)) && statSync(join(repoRoot, dir)).isDirectory();
  const isSource = (path: string) => existsSync(join(repoRoot, `${path}.ts`)) || isDir(path);
  return layoutProblems(files, isDir, exceptions, isSource, unnamedExceptions);
}

/** The real tree: test files under <repo>/test/edge that do not start `wrangler dev`. */
export function repositoryEdgeFilesWithoutWrangler(repoRoot: string): string[] {
  const test = join(repoRoot, 'test');
  return edgeFilesWithoutWrangler(listFiles(test), (file) => readFileSync(join(test, file), 'utf8'));
}
