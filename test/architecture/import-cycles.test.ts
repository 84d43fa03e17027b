// The dependency direction of the sources, checked on every run: no import cycle anywhere (type-only
// imports included), and no import against the direction of docs/architecture.md — proto/ (the
// kernel) imports only proto/; schema/ nothing of the hub; hub/ and collector/ never each other; the
// Durable Objects never the Worker; the dashboard neither hub nor edge code.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, forbiddenImports, importGraph, importSpecifiers, SOURCE_ROOTS } from './import-graph.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The one import across a forbidden line, on purpose: `sysmonstm all` (hub/main.ts, the process's
 * composition root) starts a collector for the local machine next to the hub.
 */
const ALLOWED = ['hub/main.ts → collector/main.ts'];

describe('import graph', () => {
  const graph = importGraph(REPO_ROOT);

  it('reads every part of the sources', () => {
    for (const root of SOURCE_ROOTS) expect([...graph.keys()].some((f) => f.startsWith(`${root}/`)), root).toBe(true);
    // The parser sees what the sources actually import (spot checks both ways).
    expect(graph.get('hub/fleet/fleet-query.ts')).toContain('proto/machine-id.ts');
    expect(graph.get('hub/main.ts')).toContain('collector/main.ts'); // a dynamic import()
    expect(graph.get('durable-objects/fleet-relay.ts')).toContain('proto/view-frames.ts');
  });

  it('has no cycle', () => {
    expect(findCycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('keeps the dependency direction', () => {
    expect(forbiddenImports(graph).filter((e) => !ALLOWED.includes(e))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find the specifiers of every import form, not those in comments', () => {
    const src = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "import './side-effect.ts';",
      "const m = await import('./lazy.ts');",
      "import {\n  d,\n  e,\n} from './multi.ts';",
      "// import { x } from './commented.ts';",
      "/* import { y } from './block.ts'; */",
      "import { Hono } from 'hono';",
    ].join('\n');
    expect(importSpecifiers(src)).toEqual(['./a.ts', '../b.ts', './c.ts', './side-effect.ts', './lazy.ts', './multi.ts']);
  });

  it('report a cycle and a forbidden direction in a made-up graph', () => {
    const g = new Map<string, string[]>([
      ['proto/a.ts', ['proto/b.ts']],
      ['proto/b.ts', ['hub/x.ts']],
      ['hub/x.ts', ['proto/a.ts', 'collector/y.ts']],
      ['collector/y.ts', []],
      ['durable-objects/r.ts', ['worker/env.ts']],
      ['worker/env.ts', ['durable-objects/r.ts']],
      ['schema/migrate.ts', ['hub/db.ts']],
    ]);
    expect(findCycles(g).map((c) => c.join(' → ')).sort()).toEqual([
      'durable-objects/r.ts → worker/env.ts → durable-objects/r.ts',
      'hub/x.ts → proto/a.ts → proto/b.ts → hub/x.ts',
    ]);
    expect(forbiddenImports(g)).toEqual([
      'durable-objects/r.ts → worker/env.ts',
      'hub/x.ts → collector/y.ts',
      'proto/b.ts → hub/x.ts',
      'schema/migrate.ts → hub/db.ts',
    ]);
  });
});
