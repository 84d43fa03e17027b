// The sources beside the machine sampler: containers, top processes, GPUs, disk health and services.
// Each is detected once at start and logged once ("containers: docker at /var/run/docker.sock"); a
// source the machine does not have stays off and silent. A source that fails while sampling is left
// out of that report (a warning when it starts failing, a note when it recovers), never the report.
// Off Linux, containers, top processes and GPUs come from systeminformation (si-extra-sources.ts),
// chosen here at start by the platform.
import { readFileSync } from 'node:fs';
import type { CollectorConfig } from './config.ts';
import { defaultDockerSockets, detectContainerSource, type ContainerSource } from './container-source.ts';
import { detectGpuSource, type GpuSource } from './gpu-source.ts';
import type { Logger } from './log.ts';
import type { SiExtraSourcesDeps } from './si-extra-sources.ts';
import { parseMeminfo } from './proc-parsers.ts';
import type { ExtraSample, ExtraSources } from './sampler.ts';

export type { ExtraSources } from './sampler.ts';
import { detectServiceSource } from './service-source.ts';
import { detectSmartSource } from './smart-source.ts';
import { createTopProcessesSource, type TopProcessesSource } from './top-processes-source.ts';

export interface ExtraSourcesDeps {
  log: Logger;
  platform?: NodeJS.Platform;
  uid?: number;
  /** Off Linux: the systeminformation calls (default: the library, imported at start). */
  loadSi?: SiExtraSourcesDeps['loadSi'];
}

/** Which implementation reads the extra sources: /proc, /sys and the engine API on Linux, systeminformation elsewhere. */
export function extraSourcesKind(platform: NodeJS.Platform): 'linux' | 'systeminformation' {
  return platform === 'linux' ? 'linux' : 'systeminformation';
}

type Part = { name: keyof ExtraSample; run: () => Promise<unknown> | unknown };

export function createExtraSources(config: CollectorConfig, deps: ExtraSourcesDeps): ExtraSources {
  const platform = deps.platform ?? process.platform;
  if (extraSourcesKind(platform) === 'systeminformation') return offLinuxSources(config, deps);
  return linuxSources(config, deps);
}

/** The systeminformation sources, their module imported at start (not on Linux, where it is never loaded). */
function offLinuxSources(config: CollectorConfig, deps: ExtraSourcesDeps): ExtraSources {
  let inner: ExtraSources | undefined;
  const active: string[] = [];
  return {
    active,
    async start() {
      const { createSiExtraSources } = await import('./si-extra-sources.ts');
      inner = createSiExtraSources(config, { log: deps.log, loadSi: deps.loadSi });
      await inner.start();
      active.push(...inner.active);
    },
    sample: async () => (inner ? inner.sample() : {}),
    close: async () => inner?.close(),
  };
}

function linuxSources(config: CollectorConfig, deps: ExtraSourcesDeps): ExtraSources {
  const { log } = deps;
  const { procDir, sysDir, rootDir } = config.hostPaths;
  const parts: Part[] = [];
  const active: string[] = [];
  const failing = new Set<string>();
  let gpus: GpuSource | null = null;

  async function guarded(part: Part): Promise<[string, unknown]> {
    try {
      const value = await part.run();
      if (failing.delete(part.name)) log.info({ source: part.name }, `${part.name}: sampling again`);
      return [part.name, value];
    } catch (err) {
      if (!failing.has(part.name)) {
        failing.add(part.name);
        log.warn({ source: part.name, err: (err as Error).message }, `${part.name}: sampling failed; left out of the reports until it works again`);
      }
      return [part.name, undefined];
    }
  }

  return {
    active,
    async start() {
      const memText = (() => {
        try {
          return readFileSync(`${procDir}/meminfo`, 'utf8');
        } catch {
          return '';
        }
      })();
      const [containers, gpuSource, smart, services] = await Promise.all([
        detectContainerSource(config.dockerSocket ? [config.dockerSocket] : defaultDockerSockets(deps.uid ?? process.getuid?.()), {
          procDir,
          sysDir,
          machineMemoryBytes: parseMeminfo(memText).totalBytes,
        }) as Promise<ContainerSource | null>,
        detectGpuSource({ sysDir, intervalMs: config.intervalMs, log }),
        config.smartIntervalMs > 0 ? detectSmartSource({ intervalMs: config.smartIntervalMs, log }) : null,
        config.servicePatterns.length > 0 ? detectServiceSource({ patterns: config.servicePatterns, intervalMs: config.serviceIntervalMs, log }) : null,
      ]);
      if (containers) {
        log.info({ engine: containers.engine, socket: containers.socketPath }, `containers: ${containers.engine} at ${containers.socketPath}`);
        parts.push({ name: 'containers', run: () => containers.sample() });
        active.push('containers');
      } else if (config.dockerSocket) {
        log.warn({ socket: config.dockerSocket }, `containers: no Docker or Podman engine answers at ${config.dockerSocket} (DOCKER_HOST)`);
      }
      if (config.topProcesses > 0) {
        const top: TopProcessesSource = createTopProcessesSource({ procDir, rootDir, count: config.topProcesses, intervalMs: config.topProcessesIntervalMs });
        top.prime();
        log.info({ count: config.topProcesses, intervalMs: config.topProcessesIntervalMs }, `top processes: ${config.topProcesses} by CPU and by memory every ${config.topProcessesIntervalMs / 1000} s`);
        parts.push({ name: 'topProcesses', run: () => top.sampleIfDue() });
        active.push('topProcesses');
      }
      if (gpuSource) {
        gpus = gpuSource;
        log.info({ gpus: gpuSource.kinds }, `GPUs: ${gpuSource.kinds.join(', ')}`);
        parts.push({ name: 'gpus', run: () => gpuSource.sample() });
        active.push('gpus');
      }
      if (smart) {
        log.info({ disks: smart.disks.map((d) => d.name), intervalMs: config.smartIntervalMs }, `disk health: smartctl for ${smart.disks.map((d) => d.name).join(', ')} every ${config.smartIntervalMs / 1000} s`);
        parts.push({ name: 'diskHealth', run: () => smart.sample() });
        active.push('diskHealth');
      }
      if (services && 'source' in services) {
        const source = services.source;
        log.info({ patterns: config.servicePatterns, units: services.count }, `services: ${services.count} systemd units match ${config.servicePatterns.join(',')}`);
        parts.push({ name: 'services', run: () => source.sample() });
        active.push('services');
      } else if (services) {
        // Asked for (SERVICE_PATTERNS) but not there: said once.
        log.warn({ problem: services.problem }, 'services: systemd units cannot be read (SERVICE_PATTERNS is set)');
      }
    },
    async sample() {
      const out: Record<string, unknown> = {};
      for (const [name, value] of await Promise.all(parts.map(guarded))) if (value !== undefined) out[name] = value;
      return out as ExtraSample;
    },
    async close() {
      gpus?.close();
    },
  };
}
