// The extra sources off Linux (macOS, Windows, the BSDs), over `systeminformation`, which offers the
// same for three of them: Docker containers (dockerContainers, dockerContainerStats), processes and
// GPUs (graphics). Disk health and services are read on Linux only. Chosen at start by
// extra-sources.ts when the platform is not Linux; the library is imported then, never on Linux.
// The library's calls spawn helpers on some platforms (ps, system_profiler, nvidia-smi) and the
// container stats take about a second each, so every source refreshes in the background at its own
// cadence and a sample returns the latest values without waiting.
import type { CollectorConfig } from './config.ts';
import type { Logger } from './log.ts';
import type { ContainerSample, ExtraSample, ExtraSources, GpuSample } from './sampler.ts';
import { containersFromSi, gpusFromSi, topProcessesFromSi, type SiContainer, type SiContainerStats, type SiContainerTotals, type SiGraphicsController, type SiProcess } from './si-extra-parsers.ts';

/** The part of the systeminformation module these sources call (the real module, or a recording in tests). */
export interface SiExtraApi {
  dockerInfo(): Promise<{ id?: string; serverVersion?: string; containers?: number }>;
  dockerContainers(all: boolean): Promise<SiContainer[]>;
  dockerContainerStats(ids: string): Promise<SiContainerStats[]>;
  processes(): Promise<{ list: SiProcess[] }>;
  graphics(): Promise<{ controllers: SiGraphicsController[] }>;
}

/** Containers are listed and measured at most this often (a stats call takes ~1 s per container). */
export const SI_CONTAINER_REFRESH_MS = 10_000;
/** GPUs are read at most this often (graphics() runs system_profiler or nvidia-smi). */
export const SI_GPU_REFRESH_MS = 10_000;

export interface SiExtraSourcesDeps {
  log: Logger;
  /** Default: `import('systeminformation')`. */
  loadSi?: () => Promise<SiExtraApi>;
  now?: () => number;
}

/** Keeps the latest value of a slow read, refreshed in the background when `everyMs` has passed. */
function backgroundValue<T>(read: () => Promise<T>, everyMs: number, now: () => number, onError: (err: Error) => void, onRecover: () => void) {
  let latest: T | undefined;
  let readAtMs = -Infinity;
  let running: Promise<void> | undefined;
  let failing = false;
  const refresh = () => {
    readAtMs = now();
    running = read()
      .then((value) => {
        latest = value;
        if (failing) onRecover();
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing) onError(err as Error);
        failing = true;
      })
      .finally(() => (running = undefined));
    return running;
  };
  return {
    /** The first read, awaited (at start). */
    first: () => refresh(),
    /** The latest value; starts a refresh when one is due. */
    get(): T | undefined {
      if (!running && now() - readAtMs >= everyMs) void refresh();
      return latest;
    },
    settled: () => running ?? Promise.resolve(),
  };
}

export function createSiExtraSources(config: CollectorConfig, deps: SiExtraSourcesDeps): ExtraSources & { settled(): Promise<void> } {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const loadSi =
    deps.loadSi ??
    (async () => {
      // The library reads its socket from DOCKER_SOCKET when it loads; DOCKER_HOST=unix://… names it here.
      if (config.dockerSocket && !process.env.DOCKER_SOCKET) process.env.DOCKER_SOCKET = config.dockerSocket;
      return (await import('systeminformation')).default as unknown as SiExtraApi;
    });
  const active: string[] = [];
  const parts: Array<{ name: keyof ExtraSample; get: () => unknown; settled: () => Promise<void> }> = [];
  const warn = (name: string) => (err: Error) => log.warn({ source: name, err: err.message }, `${name}: systeminformation failed; left out of the reports until it works again`);
  const recovered = (name: string) => () => log.info({ source: name }, `${name}: sampling again`);

  return {
    active,
    async start() {
      const si = await loadSi();
      const previous = new Map<string, SiContainerTotals>();
      // Containers: on when a Docker engine answers (si reads DOCKER_SOCKET, or the platform's default socket or pipe).
      const info = await si.dockerInfo().catch(() => undefined);
      if (info && (info.id || info.serverVersion)) {
        const containers = backgroundValue<ContainerSample[]>(
          async () => {
            const list = await si.dockerContainers(true);
            const running = list.filter((c) => c.state === 'running').map((c) => c.id);
            const stats = running.length ? await si.dockerContainerStats(running.join(',')) : [];
            return containersFromSi(list, stats, previous, now());
          },
          Math.max(SI_CONTAINER_REFRESH_MS, config.intervalMs),
          now,
          warn('containers'),
          recovered('containers'),
        );
        await containers.first();
        log.info({ engine: 'docker', via: 'systeminformation' }, `containers: docker${info.serverVersion ? ` ${info.serverVersion}` : ''} (systeminformation)`);
        parts.push({ name: 'containers', get: containers.get, settled: containers.settled });
        active.push('containers');
      }
      if (config.topProcesses > 0) {
        const top = backgroundValue(async () => topProcessesFromSi((await si.processes()).list, config.topProcesses), config.topProcessesIntervalMs, now, warn('topProcesses'), recovered('topProcesses'));
        await top.first();
        let sentAtMs = -Infinity;
        // Sent every TOP_PROCESSES_INTERVAL, as on Linux, so the reports stay small.
        const due = () => {
          const value = top.get();
          if (value === undefined || now() - sentAtMs < config.topProcessesIntervalMs - 50) return undefined;
          sentAtMs = now();
          return value;
        };
        log.info({ count: config.topProcesses, intervalMs: config.topProcessesIntervalMs, via: 'systeminformation' }, `top processes: ${config.topProcesses} by CPU and by memory every ${config.topProcessesIntervalMs / 1000} s (systeminformation)`);
        parts.push({ name: 'topProcesses', get: due, settled: top.settled });
        active.push('topProcesses');
      }
      const firstGpus = await si.graphics().then((g) => gpusFromSi(g.controllers ?? []), () => [] as GpuSample[]);
      if (firstGpus.length > 0) {
        const gpus = backgroundValue(async () => gpusFromSi((await si.graphics()).controllers ?? []), Math.max(SI_GPU_REFRESH_MS, config.intervalMs), now, warn('gpus'), recovered('gpus'));
        await gpus.first();
        log.info({ gpus: firstGpus.map((g) => g.name), via: 'systeminformation' }, `GPUs: ${firstGpus.map((g) => `${g.vendor} ${g.name}`).join(', ')} (systeminformation)`);
        parts.push({ name: 'gpus', get: gpus.get, settled: gpus.settled });
        active.push('gpus');
      }
      if (config.smartIntervalMs > 0 || config.servicePatterns.length > 0) log.info('disk health and services are read on Linux only');
    },
    async sample() {
      const out: Record<string, unknown> = {};
      for (const part of parts) {
        const value = part.get();
        if (value !== undefined) out[part.name] = value;
      }
      return out as ExtraSample;
    },
    async close() {
      await Promise.all(parts.map((p) => p.settled()));
    },
    /** Waits for the background reads under way (tests). */
    async settled() {
      await Promise.all(parts.map((p) => p.settled()));
    },
  };
}
