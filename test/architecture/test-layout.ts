// Where a test file may live, for the architecture test: a suite about the whole system sits in a
// themed folder (test/e2e, test/faults, ...); every other file under test/ mirrors the source it tests
// (test/hub/alerts/evaluate.test.ts ↔ hub/alerts/evaluate.ts), so it sits in a directory that exists
// in the sources. Pure apart from listing the files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Folders of suites about the whole system (or shared by all suites): named by theme, not by source. */
export const THEMED = ['e2e', 'integration', 'faults', 'bad-input', 'deploy', 'install', 'cli', 'bench', 'architecture', 'support', 'fixtures'] as const;

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

export interface LayoutProblems {
  /** Files (relative to test/) neither in a themed folder nor in a directory the sources have (code
   *  at the top of test/ included; configuration there, such as a tsconfig, is allowed). */
  misplaced: string[];
  /** Allow-listed folders that hold no file any more: the entry is to be removed. */
  staleExceptions: string[];
}

/**
 * Checks `files` (relative to test/). `sourceDirExists` says whether a repository directory exists;
 * `exceptions` are folders under test/ still laid out by theme, allowed until their files move.
 */
export function layoutProblems(files: readonly string[], sourceDirExists: (dir: string) => boolean, exceptions: readonly string[]): LayoutProblems {
  const under = (file: string, folder: string) => file.startsWith(`${folder}/`);
  const misplaced = files.filter((file) => {
    if (THEMED.some((t) => under(file, t)) || exceptions.some((e) => under(file, e))) return false;
    if (!file.includes('/') && !/\.[cm]?[jt]s$/.test(file)) return false; // configuration (a tsconfig) at the top
    const source = mirroredSourceDir(file);
    return source === null || !sourceDirExists(source);
  });
  const staleExceptions = exceptions.filter((e) => !files.some((file) => under(file, e)));
  return { misplaced, staleExceptions };
}

/** The real tree: files under <repo>/test, source directories under <repo>. */
export function repositoryLayoutProblems(repoRoot: string, exceptions: readonly string[]): LayoutProblems {
  const files = listFiles(join(repoRoot, 'test'));
  return layoutProblems(files, (dir) => existsSync(join(repoRoot, dir)) && statSync(join(repoRoot, dir)).isDirectory(), exceptions);
}
