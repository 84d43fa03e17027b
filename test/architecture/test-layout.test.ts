// The test layout, checked on every run: every file under test/ is either in a themed folder (suites
// about the whole system, and the shared support) or mirrors the source it tests — test/hub/alerts/
// ↔ hub/alerts/, test/web/ ↔ web/src/ — and is named after the module it tests, so a new file in a
// directory the sources do not have, or named by theme, fails here. The rule: docs/architecture.md ("Tests").
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { edgeFilesWithoutWrangler, layoutProblems, mirroredSourceDir, repositoryEdgeFilesWithoutWrangler, repositoryLayoutProblems, startsWranglerDev, testedSource } from './test-layout.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Folders under test/ still laid out by theme, allowed until their files move next to the sources
 * they test. An entry whose folder is empty fails the check, so the list only shrinks.
 */
const STILL_THEMED: string[] = [];

/**
 * Test files in a mirrored folder still named by theme rather than after a module there, allowed
 * until they are renamed. An entry that is renamed (or removed) fails the check, so the list only shrinks.
 */
const STILL_UNNAMED = [
  // Real hubs: GET /metrics (hub/gateway/prometheus-metrics.ts); Redis killed under a running hub
  // (hub/state/fallback-state.ts, hub/events/fallback-events.ts).
  'hub/prometheus-metrics.test.ts',
  'hub/redis-fallback.test.ts',
  // The GPU, SMART and service sources of the collector, together.
  'collector/gpu-smart-service-sources.test.ts',
];

describe('test layout', () => {
  it('every file under test/ is in a themed folder or mirrors a source directory, named after a module there', () => {
    expect(repositoryLayoutProblems(REPO_ROOT, STILL_THEMED, STILL_UNNAMED)).toEqual({ misplaced: [], unnamed: [], staleExceptions: [] });
  });

  it('test/edge holds only suites that start the real Worker under wrangler dev (and their helpers)', () => {
    expect(repositoryEdgeFilesWithoutWrangler(REPO_ROOT)).toEqual([]);
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
      'legacy/units.test.ts', // a folder still laid out by theme, allow-listed
      'alerts/evaluate.test.ts', // a themed folder that is not one of the themes
      'hub/alert/evaluate.test.ts', // a directory the sources do not have
      'collector/parsers/proc.test.ts',
      'top-level.test.ts',
      'tsconfig.workers.json',
    ];
    expect(layoutProblems(files, (d) => sources.has(d), ['legacy', 'views'])).toEqual({
      misplaced: ['alerts/evaluate.test.ts', 'hub/alert/evaluate.test.ts', 'collector/parsers/proc.test.ts', 'top-level.test.ts'],
      unnamed: [],
      staleExceptions: ['views'],
    });
  });

  it('names the module a test file is named after, or null for a helper or a file outside the mirrors', () => {
    expect(testedSource('hub/alerts/alert-engine.offline-tick.test.ts')).toBe('hub/alerts/alert-engine');
    expect(testedSource('web/main.read-only.test.ts')).toBe('web/src/main');
    expect(testedSource('durable-objects/fleet-relay.sharded.workers.test.ts')).toBe('durable-objects/fleet-relay');
    expect(testedSource('hub/alerts/rule-state-store-contract.ts')).toBeNull();
    expect(testedSource('e2e/full-chain.test.ts')).toBeNull();
  });

  it('names a test file named by theme, and an allow-listed name that is fine or gone', () => {
    const modules = new Set(['hub/alerts/evaluate', 'hub/config', 'web/src/main', 'proto/gen']);
    const files = [
      'hub/alerts/evaluate.test.ts',
      'hub/alerts/evaluate.hysteresis.test.ts',
      'hub/alerts/rule-state-store-contract.ts', // a helper: no name to check
      'hub/browser-guards.test.ts', // named by theme
      'hub/config.security.test.ts',
      'web/main.read-only.test.ts',
      'web/dashboard.test.ts', // named by theme, allow-listed
      'proto/gen.test.ts', // named after a source directory
      'legacy/units.test.ts', // a folder still laid out by theme, allow-listed
      'e2e/full-chain.test.ts',
    ];
    const exists = (path: string) => modules.has(path);
    expect(layoutProblems(files, () => true, ['legacy'], exists, ['web/dashboard.test.ts', 'hub/config.security.test.ts', 'hub/gone.test.ts'])).toEqual({
      misplaced: [],
      unnamed: ['hub/browser-guards.test.ts'],
      staleExceptions: ['hub/config.security.test.ts', 'hub/gone.test.ts'],
    });
  });

  it('names a test file in test/edge that does not start wrangler dev, and lets its helpers be', () => {
    const sources: Record<string, string> = {
      'edge/relay.test.ts': "beforeAll(async () => {\n  dev = await startWranglerDev({ vars });\n});",
      'edge/units.test.ts': "import { FleetPicture } from '../../durable-objects/fleet-picture.ts';",
      'edge/mentions.test.ts': '// unlike the suites that call startWranglerDev, this one does not',
      'edge/wrangler-dev.ts': 'export async function startWranglerDev() {}',
      'edge/edge-clients.ts': 'export class TestHub {}',
      'hub/edge/edge-forwarder.test.ts': 'no wrangler here',
    };
    expect(startsWranglerDev(sources['edge/relay.test.ts'])).toBe(true);
    expect(edgeFilesWithoutWrangler(Object.keys(sources), (file) => sources[file])).toEqual(['edge/units.test.ts', 'edge/mentions.test.ts']);
  });
});
