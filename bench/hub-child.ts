// One real hub (startHub) in a process of its own, for the benchmarks that load it: its CPU and memory
// are then measured apart from the load generators and the bench itself. Configured from the
// environment exactly like `sysmonstm hub` (parseHubConfig), plus BENCH_REDIS_PREFIX for the Redis key
// prefix (startHub's redisPrefix option, which the CLI does not expose) and BENCH_EMBEDDED_ENGINE. Talks to its parent over IPC:
//   → {type:'ready', grpcPort, httpPort, stateKind, historyPath}
//   ← {cmd:'stats', id}  → {type:'stats', id, hub: hub.stats(), memory, cpu, elu, atMs}
//   ← {cmd:'close'}      → closes the hub in order, then exits (a --cpu-prof profile is written then).
// Run only by bench scripts: fork('bench/hub-child.ts', { env }).
// HUB_PROCESSES > 1: this process is a node:cluster primary that forks that many workers (each this
// same file, a hub with its slot, sharing the ports as `sysmonstm hub` does); it answers the parent
// once every worker listens, and with stats summed over the workers (memory, CPU, event-loop time,
// the hub's counters).
import cluster, { type Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { parseHubConfig } from '../hub/config.ts';
import { startHub, type Hub } from '../hub/hub.ts';
import { receiveSlot } from '../hub/hub-processes.ts';
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

type WorkerMessage = { type: 'ready'; ready: HubChildReady } | { type: 'stats'; id: number; stats: HubChildStats };

/** Numbers summed, booleans or-ed, objects merged key by key (the first value of anything else). */
function sumStats(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a || b;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = k in out ? sumStats(out[k], v) : v;
    return out;
  }
  return a ?? b;
}

function localStats(hub: Hub, id: number): HubChildStats {
  const elu = performance.eventLoopUtilization();
  return { type: 'stats', id, atMs: Date.now(), hub: hub.stats(), memory: process.memoryUsage(), cpu: process.cpuUsage(), elu: { idle: elu.idle, active: elu.active } };
}

if (config.hubProcesses > 1 && cluster.isPrimary) {
  // The primary: forks the workers, relays the parent's requests to them.
  const workers: Worker[] = [];
  const pending = new Map<number, { left: number; sum: HubChildStats | undefined }>();
  let readyCount = 0;
  let exited = 0;
  for (let slot = 1; slot <= config.hubProcesses; slot++) {
    const worker = cluster.fork();
    workers.push(worker);
    worker.on('message', (msg: WorkerMessage | { type: 'sysmonstm-slot?' }) => {
      if (msg.type === 'sysmonstm-slot?') worker.send({ type: 'sysmonstm-slot', slot, count: config.hubProcesses });
      // Every worker listens (on the same ports) before the load starts.
      else if (msg.type === 'ready' && ++readyCount === config.hubProcesses) process.send!(msg.ready);
      else if (msg.type === 'stats') {
        const p = pending.get(msg.stats.id);
        if (!p) return;
        p.sum = p.sum ? (sumStats(p.sum, msg.stats) as HubChildStats) : msg.stats;
        if (--p.left === 0) {
          pending.delete(msg.stats.id);
          process.send!({ ...p.sum!, type: 'stats', id: msg.stats.id, atMs: Date.now() } satisfies HubChildStats);
        }
      }
    });
    worker.on('exit', () => {
      if (++exited === workers.length) process.exit(0);
    });
  }
  const closeAll = () => {
    for (const w of workers) if (!w.isDead()) w.send({ type: 'sysmonstm-stop' });
  };
  process.on('message', (msg: { cmd?: string; id?: number }) => {
    if (msg.cmd === 'stats') {
      const live = workers.filter((w) => !w.isDead());
      pending.set(msg.id ?? 0, { left: live.length, sum: undefined });
      for (const w of live) w.send({ cmd: 'stats', id: msg.id ?? 0 });
    } else if (msg.cmd === 'close') closeAll();
  });
  process.on('disconnect', closeAll);
  process.on('SIGTERM', closeAll);
} else {
  const worker = cluster.isWorker;
  const slot = worker ? await receiveSlot() : undefined;
  // BENCH_EMBEDDED_ENGINE=timescaledb: the embedded database on the TimescaleDB build of PGlite (the
  // earlier default, a devDependency), for the before/after comparison of bench/embedded-default.ts.
  const embeddedEngine = process.env.BENCH_EMBEDDED_ENGINE === 'timescaledb' ? (await import('../test/support/timescale-pglite.ts')).timescalePglite : undefined;
  const hub = await startHub(config, { log: slot ? log.child({ process: slot.slot }) : log, redisPrefix: process.env.BENCH_REDIS_PREFIX || undefined, embeddedEngine, slot });
  const ready: HubChildReady = { type: 'ready', grpcPort: hub.grpcPort, httpPort: hub.httpPort, stateKind: hub.stateKind, historyPath: hub.historyPath };
  process.send(worker ? ({ type: 'ready', ready } satisfies WorkerMessage) : ready);

  let closing = false;
  const close = async (code: number): Promise<void> => {
    if (closing) return;
    closing = true;
    try {
      await hub.close();
    } finally {
      process.disconnect?.();
      process.exit(code);
    }
  };

  process.on('message', (msg: { cmd?: string; id?: number; type?: string }) => {
    if (msg.cmd === 'stats') {
      const stats = localStats(hub, msg.id ?? 0);
      process.send!(worker ? ({ type: 'stats', id: stats.id, stats } satisfies WorkerMessage) : stats);
    } else if (msg.cmd === 'close' || msg.type === 'sysmonstm-stop') {
      void close(0);
    }
  });
  // The parent went away without telling us: do not linger.
  process.on('disconnect', () => void close(0));
  process.on('SIGTERM', () => void close(0));
}
