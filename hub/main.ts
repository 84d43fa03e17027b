// Entry points used by the CLI: `sysmonstm hub` (the hub alone) and `sysmonstm all` (the hub plus a
// collector for this machine — the one-command default). One signal hook closes everything in order.
import closeWithGrace from 'close-with-grace';
import { ConfigError, parseHubConfig } from './config.ts';
import { StartupError } from './errors.ts';
import { startHub, type Hub } from './hub.ts';
import { createLogger } from './log.ts';

type Env = Readonly<Record<string, string | undefined>>;

export async function runHub(argv: readonly string[], env: Env, opts: { withCollector?: boolean } = {}): Promise<Hub> {
  let config;
  try {
    config = parseHubConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sysmonstm hub: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: 'hub' });
  let hub: Hub;
  try {
    hub = await startHub(config, { log });
  } catch (err) {
    // Storage trouble at start is the operator's to fix: one line naming the variable, no stack trace.
    if (err instanceof StartupError) {
      process.stderr.write(`sysmonstm hub: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const closers: Array<() => Promise<void>> = [];
  if (opts.withCollector) {
    const { startCollector } = await import('../collector/main.ts');
    const collector = await startCollector([], {
      ...env,
      // With TLS on the gRPC port the local collector trusts the hub's own certificate (it must name localhost).
      AGGREGATOR_URL: env.AGGREGATOR_URL ?? (config.grpcTls ? `https://localhost:${hub.grpcPort}` : `http://127.0.0.1:${hub.grpcPort}`),
      AGGREGATOR_CA_FILE: env.AGGREGATOR_CA_FILE ?? config.grpcTls?.certFile,
      DATA_DIR: env.DATA_DIR ?? config.dataDir,
    });
    closers.push(() => collector.close());
    log.info({ dashboard: `http://${config.httpHost === '0.0.0.0' ? 'localhost' : config.httpHost}:${hub.httpPort}/` }, 'local collector started; open the dashboard');
  }
  closers.push(() => hub.close());
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an unexpected error');
    else log.info({ signal }, 'shutting down');
    for (const close of closers) await close();
  });
  return hub;
}
