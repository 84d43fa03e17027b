// The import graph of the project's TypeScript sources, for the architecture test: every static
// `import … from`, `export … from`, side-effect `import '…'` and dynamic `import('…')` with a relative
// specifier, type-only imports included (a cycle through types is still a cycle for a reader).
// Pure apart from reading the files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The source roots, relative to the repository. */
export const SOURCE_ROOTS = ['hub', 'collector', 'proto', 'schema', 'worker', 'durable-objects', 'web/src', 'bin', 'scripts'] as const;

const SPECIFIER = /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative module specifiers named in a source text (comments stripped first). */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined && spec.startsWith('.')) out.push(spec);
  }
  return out;
}

function listSources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listSources(path));
    else if (/\.(ts|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** `./x.js` may name `./x.ts` (or the generated `./x.js` next to its `.d.ts`). */
function resolveImport(fromFile: string, spec: string): string | null {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** file → the files it imports, all as repository-relative paths with forward slashes. */
export function importGraph(repoRoot: string, roots: readonly string[] = SOURCE_ROOTS): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const rel = (p: string) => relative(repoRoot, p).split('\\').join('/');
  for (const root of roots) {
    for (const file of listSources(join(repoRoot, root))) {
      const targets: string[] = [];
      for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
        const target = resolveImport(file, spec);
        if (target !== null) targets.push(rel(target));
      }
      graph.set(rel(file), [...new Set(targets)]);
    }
  }
  return graph;
}

/** Every cycle found by a depth-first search, each as the files along it (first file repeated at the end). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The top-level part a file belongs to: `hub`, `proto`, `web/src` … */
export function partOf(file: string): string {
  return file.startsWith('web/src/') ? 'web/src' : file.split('/')[0];
}

export interface ForbiddenEdge {
  from: string;
  /** Parts `from` must not import; `allowOnly` instead lists the only parts it may import. */
  not?: readonly string[];
  allowOnly?: readonly string[];
}

/** The dependency direction: the kernel (proto) imports nothing else; parts never reach back up. */
export const DEPENDENCY_RULES: readonly ForbiddenEdge[] = [
  { from: 'proto', allowOnly: ['proto'] },
  { from: 'schema', not: ['hub', 'collector', 'worker', 'durable-objects', 'web/src'] },
  { from: 'hub', not: ['collector', 'worker', 'durable-objects', 'web/src'] },
  { from: 'collector', not: ['hub', 'worker', 'durable-objects', 'web/src', 'schema'] },
  { from: 'durable-objects', not: ['worker', 'hub', 'collector', 'web/src', 'schema'] },
  { from: 'worker', not: ['hub', 'collector', 'web/src', 'schema'] },
  { from: 'web/src', not: ['hub', 'collector', 'worker', 'durable-objects', 'schema'] },
];

/** Imports that break a rule, as "from → to". */
export function forbiddenImports(graph: ReadonlyMap<string, readonly string[]>, rules: readonly ForbiddenEdge[] = DEPENDENCY_RULES): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const rule = rules.find((r) => r.from === partOf(file));
    if (!rule) continue;
    for (const target of targets) {
      const part = partOf(target);
      const bad = rule.allowOnly ? !rule.allowOnly.includes(part) : (rule.not ?? []).includes(part);
      if (bad) out.push(`${file} → ${target}`);
    }
  }
  return out.sort();
}
