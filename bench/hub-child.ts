// One real hub (startHub) in a process of its own, for the benchmarks that load it: its CPU and memory
// are then measured apart from the load generators and the bench itself. Configured from the
// environment exactly like `sysmonstm hub` (parseHubConfig), plus BENCH_REDIS_PREFIX for the Redis key
// prefix (startHub's redisPrefix option, which the CLI does not expose) and BENCH_EMBEDDED_ENGINE. Talks to its parent over IPC:
//   → {type:'ready', grpcPort, httpPort, stateKind, historyPath}
//   ← {cmd:'stats', id}  → {type:'stats', id, hub: hub.stats(), memory, cpu, elu, atMs}
//   ← {cmd:'close'}      → closes the hub in order, then exits (a --cpu-prof profile is written then).
// Run only by bench scripts: fork('bench/hub-child.ts', { env }).
import { performance } from 'node:perf_hooks';
import { parseHubConfig } from '../hub/config.ts';
import { startHub } from '../hub/hub.ts';
import { createLogger } from '../hub/log.ts';

export interface HubChildStats {
  type: 'stats';
  id: number;
  atMs: number;
  hub: Record<string, unknown>;
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  /** Cumulative event-loop idle/active milliseconds since the process started. */
  elu: { idle: number; active: number };
}

export interface HubChildReady {
  type: 'ready';
  grpcPort: number;
  httpPort: number;
  stateKind: string;
  historyPath: string;
}

if (!process.send) {
  process.stderr.write('bench/hub-child.ts is started by the benchmarks over IPC (fork), not by hand\n');
  process.exit(2);
}

const config = parseHubConfig([], process.env);
const log = createLogger({ level: config.logLevel, format: 'json', name: 'hub' });
// BENCH_EMBEDDED_ENGINE=timescaledb: the embedded database on the TimescaleDB build of PGlite (the
// earlier default, a devDependency), for the before/after comparison of bench/embedded-default.ts.
const embeddedEngine = process.env.BENCH_EMBEDDED_ENGINE === 'timescaledb' ? (await import('../test/support/timescale-pglite.ts')).timescalePglite : undefined;
const hub = await startHub(config, { log, redisPrefix: process.env.BENCH_REDIS_PREFIX || undefined, embeddedEngine });
process.send({ type: 'ready', grpcPort: hub.grpcPort, httpPort: hub.httpPort, stateKind: hub.stateKind, historyPath: hub.historyPath } satisfies HubChildReady);

let closing = false;
async function close(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  try {
    await hub.close();
  } finally {
    process.disconnect?.();
    process.exit(code);
  }
}

process.on('message', (msg: { cmd?: string; id?: number }) => {
  if (msg.cmd === 'stats') {
    const elu = performance.eventLoopUtilization();
    const reply: HubChildStats = {
      type: 'stats',
      id: msg.id ?? 0,
      atMs: Date.now(),
      hub: hub.stats(),
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
      elu: { idle: elu.idle, active: elu.active },
    };
    process.send!(reply);
  } else if (msg.cmd === 'close') {
    void close(0);
  }
});
// The parent went away without telling us: do not linger.
process.on('disconnect', () => void close(0));
process.on('SIGTERM', () => void close(0));
