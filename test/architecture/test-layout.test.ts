// The test layout, checked on every run: every file under test/ is either in a themed folder (suites
// about the whole system, and the shared support) or mirrors the source it tests — test/hub/alerts/
// ↔ hub/alerts/, test/web/ ↔ web/src/ — so a new file in a directory the sources do not have fails
// here. The rule: docs/architecture.md ("Tests").
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { layoutProblems, mirroredSourceDir, repositoryLayoutProblems } from './test-layout.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Folders under test/ still laid out by theme, allowed until their files move next to the sources
 * they test. An entry whose folder is empty fails the check, so the list only shrinks.
 */
const STILL_THEMED = [
  // The edge: units of the Worker, the Durable Objects and the hub's forwarder, and the `wrangler dev` suites.
  'edge',
];

describe('test layout', () => {
  it('every file under test/ is in a themed folder or mirrors a source directory', () => {
    expect(repositoryLayoutProblems(REPO_ROOT, STILL_THEMED)).toEqual({ misplaced: [], staleExceptions: [] });
  });
});

describe('the check itself', () => {
  it('maps a test directory to the source directory it mirrors', () => {
    expect(mirroredSourceDir('hub/alerts/evaluate.test.ts')).toBe('hub/alerts');
    expect(mirroredSourceDir('hub/db.test.ts')).toBe('hub');
    expect(mirroredSourceDir('web/route.test.ts')).toBe('web/src');
    expect(mirroredSourceDir('durable-objects/fleet-relay.workers.test.ts')).toBe('durable-objects');
    expect(mirroredSourceDir('alerts/evaluate.test.ts')).toBeNull();
    expect(mirroredSourceDir('top.test.ts')).toBeNull();
  });

  it('names a misplaced file and a stale exception, and lets themed and allow-listed files be', () => {
    const sources = new Set(['hub', 'hub/alerts', 'web/src', 'collector']);
    const files = [
      'hub/alerts/evaluate.test.ts',
      'hub/alerts/rule-state-store-contract.ts',
      'web/route.test.ts',
      'e2e/full-chain.test.ts',
      'support/servers.ts',
      'edge/relay.test.ts',
      'alerts/evaluate.test.ts', // a themed folder that is not one of the themes
      'hub/alert/evaluate.test.ts', // a directory the sources do not have
      'collector/parsers/proc.test.ts',
      'top-level.test.ts',
      'tsconfig.workers.json',
    ];
    expect(layoutProblems(files, (d) => sources.has(d), ['edge', 'views'])).toEqual({
      misplaced: ['alerts/evaluate.test.ts', 'hub/alert/evaluate.test.ts', 'collector/parsers/proc.test.ts', 'top-level.test.ts'],
      staleExceptions: ['views'],
    });
  });
});
