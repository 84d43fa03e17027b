// Entry points: `runCollector` for `sysmonstm collector ...` (parses the config, starts, and closes on
// SIGINT/SIGTERM), and `startCollector` for the hub's one-command mode, which owns the signal hook.
// A configuration error (a value, a file it names, a hub URL that is not a gRPC port) ends the
// collector with one line and exit code 2: the systemd unit does not restart what restarting cannot fix.
import { hostname } from 'node:os';
import closeWithGrace from 'close-with-grace';
import { ConfigError, parseCollectorConfig } from './config.ts';
import { createCollector, type Collector } from './collector.ts';
import { createCollectorLogger } from './log.ts';

export { collectorHelp, collectorOptions } from './usage.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface CollectorRunOptions {
  /** Logs are human-readable by default on a terminal. */
  stdoutIsTty?: boolean;
  /** A mistake no retry can fix (the hub URL names the dashboard port): default, exit 2. */
  onFatal?: (message: string) => void;
}

export async function startCollector(argv: readonly string[], env: Env, options: CollectorRunOptions = {}): Promise<Collector> {
  const config = parseCollectorConfig(argv, env, { hostname: hostname(), stdoutIsTty: options.stdoutIsTty });
  const log = await createCollectorLogger({ level: config.logLevel, format: config.logFormat });
  const collector = createCollector(config, { log, onFatal: options.onFatal });
  await collector.start();
  return collector;
}

function fail(message: string): never {
  process.stderr.write(`sysmonstm collector: ${message}\n`);
  process.exit(2);
}

export async function runCollector(argv: readonly string[], env: Env, options: CollectorRunOptions = {}): Promise<Collector> {
  let collector: Collector | undefined;
  try {
    collector = await startCollector(argv, env, {
      ...options,
      onFatal: (message) => {
        // Close first: the spool and the seq file keep what was sampled.
        void (collector?.close() ?? Promise.resolve()).finally(() => fail(message));
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) process.stderr.write(`sysmonstm collector: shutting down after an unexpected error: ${String(err)}\n`);
    await collector!.close();
  });
  return collector;
}
