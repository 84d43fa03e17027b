// Three projects, all run by `vitest run` (and so by `npm test`):
// - node: every other suite under test/, in Node (units, integration against real PostgreSQL/Redis, `wrangler
//   dev` end-to-end edge tests, browsers);
// - workers: test/**/*.workers.test.ts inside workerd through the Workers Vitest integration, against
//   the Worker and Durable Objects of wrangler.toml (bindings, vars, SQLite storage, alarms);
// - workers-sharded: test/**/*.sharded.workers.test.ts the same way with RELAY_SHARDS = 3.
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { configDefaults, defineConfig } from 'vitest/config';
import { DEADMAN_WEBHOOK_SECRET, DEADMAN_WEBHOOK_URL, hooks, outbound } from './test/durable-objects/deadman-receiver.ts';

const WORKERS_TESTS = 'test/**/*.workers.test.ts';
const SHARDED_TESTS = 'test/**/*.sharded.workers.test.ts';

/** A project running `include` in workerd against wrangler.toml, its [vars] overridden by `vars`.
 *  Outbound requests go to the dead-man receiver (test/durable-objects/deadman-receiver.ts), which
 *  refuses all but the webhook's. */
function workersProject(name: string, include: string[], exclude: string[], vars: Record<string, string>) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // The hub secret, and times short enough to watch within a test: machines go offline after
          // 1 s of silence, a paused viewer is closed after 0.5 s.
          bindings: { HUB_TOKEN: 'workers-test-hub-token', OFFLINE_AFTER_MS: '1000', VIEWER_LAG_CLOSE_MS: '500', ...vars },
          outboundService: outbound,
          serviceBindings: { DEADMAN_HOOKS: hooks },
        },
      }),
    ],
    test: { name, include, exclude: [...configDefaults.exclude, ...exclude], testTimeout: 15_000, hookTimeout: 30_000 },
  };
}

export default defineConfig({
  test: {
    // Two cores: integration suites start servers and databases; run files two at a time at most.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, WORKERS_TESTS],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      workersProject('workers', [WORKERS_TESTS], [SHARDED_TESTS], {}),
      // The same Worker with RELAY_SHARDS = 3 (the coordinator in front of the relay shards), a hub
      // counted silent after 1.5 s (the coordinator's liveness alarm runs every 0.5 s) and the dead-man
      // webhook after 1 s of silence.
      workersProject('workers-sharded', [SHARDED_TESTS], [], {
        RELAY_SHARDS: '3',
        HUB_SILENT_AFTER_MS: '1500',
        DEADMAN_AFTER_S: '1',
        DEADMAN_WEBHOOK_URL,
        DEADMAN_WEBHOOK_SECRET,
      }),
    ],
  },
});
