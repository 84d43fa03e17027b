// Entry points used by the CLI: `sysmonstm hub` (the hub alone) and `sysmonstm all` (the hub plus a
// collector for this machine — the one-command default). One signal hook closes everything in order.
// A configuration error, in the values or in a file they name, ends the start with one line naming the
// variable and exit code 2 (a service manager should not restart what restarting cannot fix).
// HUB_PROCESSES > 1: this process becomes the supervisor of that many hub processes (hub-processes.ts),
// each of which runs this same entry point as a cluster worker.
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { ConfigError, parseHubConfig } from './config.ts';
import { StartupError } from './errors.ts';
import { startHub, type Hub } from './hub.ts';
import { onStopRequest, receiveSlot, superviseHubProcesses, type HubSlot } from './hub-processes.ts';
import { createLogger } from './log.ts';
import { dashboardUrl, startupNotes } from './startup-notes.ts';

export { hubHelp, hubOptions } from './usage.ts';

type Env = Readonly<Record<string, string | undefined>>;

function configFailure(err: unknown): never {
  process.stderr.write(`sysmonstm hub: ${(err as Error).message}\n`);
  process.exit(2); // CONFIG_ERROR_EXIT_CODE: the primary of HUB_PROCESSES does not restart a process that exits so
}

export async function runHub(argv: readonly string[], env: Env, opts: { withCollector?: boolean; stdoutIsTty?: boolean } = {}): Promise<Hub> {
  let config;
  try {
    config = parseHubConfig(argv, env, { command: opts.withCollector ? 'all' : 'hub', stdoutIsTty: opts.stdoutIsTty });
  } catch (err) {
    if (err instanceof ConfigError) configFailure(err);
    throw err;
  }
  const baseLog = createLogger({ level: config.logLevel, format: config.logFormat, name: 'hub' });
  if (config.hubProcesses > 1 && cluster.isPrimary) {
    // The supervisor only: it opens no port, database or Redis connection of its own.
    process.exit(await superviseHubProcesses(config.hubProcesses, baseLog));
  }
  // A worker listens for the primary's stop request before it asks for its slot: a request that comes
  // while the hub is still starting closes it once it is up.
  let stopRequested = false;
  let onStop = () => {};
  if (cluster.isWorker) {
    onStopRequest(() => {
      stopRequested = true;
      onStop();
    });
  }
  const slot: HubSlot = config.hubProcesses > 1 ? await receiveSlot() : { slot: 1, count: 1 };
  const log = slot.count > 1 ? baseLog.child({ process: slot.slot }) : baseLog;
  if (slot.slot === 1) {
    for (const note of startupNotes(config, { embeddedDatabaseExists: existsSync(path.join(config.dataDir, 'pgdata')) })) {
      log[note.level](note.fields ?? {}, note.msg);
    }
  }
  let hub: Hub;
  try {
    hub = await startHub(config, { log, slot });
  } catch (err) {
    // Storage trouble at start is the operator's to fix too: one line naming the variable, no stack trace.
    if (err instanceof ConfigError || err instanceof StartupError) configFailure(err);
    throw err;
  }
  if (config.httpPort === 0) log.info(`Dashboard: ${dashboardUrl(config.httpHost, hub.httpPort)}`);
  const closers: Array<() => Promise<void>> = [];
  // With several processes the local collector of `sysmonstm all` runs in the first one only.
  if (opts.withCollector && slot.slot === 1) {
    const { startCollector } = await import('../collector/main.ts');
    const collector = await startCollector(
      [],
      {
        ...env,
        // With TLS on the gRPC port the local collector trusts the hub's own certificate (it must name localhost).
        AGGREGATOR_URL: env.AGGREGATOR_URL ?? (config.grpcTls ? `https://localhost:${hub.grpcPort}` : `http://127.0.0.1:${hub.grpcPort}`),
        AGGREGATOR_CA_FILE: env.AGGREGATOR_CA_FILE ?? config.grpcTls?.certFile,
        DATA_DIR: env.DATA_DIR ?? config.dataDir,
        LOG_FORMAT: env.LOG_FORMAT ?? config.logFormat,
      },
      { stdoutIsTty: opts.stdoutIsTty },
    );
    closers.push(() => collector.close());
    log.info({ dashboard: dashboardUrl(config.httpHost, hub.httpPort) }, 'local collector started; open the dashboard');
  }
  closers.push(() => hub.close());
  let closing = false;
  const grace = closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    closing = true;
    if (err) log.error({ err }, 'shutting down after an unexpected error');
    else log.info({ signal }, 'shutting down');
    for (const close of closers) await close();
  });
  // A worker closes in the same order when the primary asks (or is gone).
  onStop = () => void (closing ? undefined : grace.close());
  if (stopRequested) onStop();
  return hub;
}
