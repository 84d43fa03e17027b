// Entry points: `runCollector` for `sysmonstm collector ...` (parses the config, starts, and closes on
// SIGINT/SIGTERM), and `startCollector` for the hub's one-command mode, which owns the signal hook.
import closeWithGrace from 'close-with-grace';
import { ConfigError, parseCollectorConfig } from './config.ts';
import { createCollector, type Collector } from './collector.ts';
import { createCollectorLogger } from './log.ts';

type Env = Readonly<Record<string, string | undefined>>;

export async function startCollector(argv: readonly string[], env: Env): Promise<Collector> {
  const config = parseCollectorConfig(argv, env);
  const log = await createCollectorLogger({ level: config.logLevel, format: config.logFormat });
  const collector = createCollector(config, { log });
  await collector.start();
  return collector;
}

export async function runCollector(argv: readonly string[], env: Env): Promise<Collector> {
  let collector: Collector;
  try {
    collector = await startCollector(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sysmonstm collector: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) process.stderr.write(`sysmonstm collector: shutting down after an unexpected error: ${String(err)}\n`);
    await collector.close();
  });
  return collector;
}
