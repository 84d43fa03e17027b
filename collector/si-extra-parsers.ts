// Off Linux, containers, top processes and GPUs come from `systeminformation` (si-extra-sources.ts).
// These pure functions map the library's shapes (dockerContainers, dockerContainerStats, processes,
// graphics) to the report's fields, with the same rules as the Linux path: rates from counter totals
// (rates.ts), the top N by CPU and by memory (process-parsers.ts), printable bounded names.
import { healthFromStatus } from './container-parsers.ts';
import { selectTopProcesses } from './process-parsers.ts';
import { counterRatePerSec } from './rates.ts';
import type { ContainerSample, GpuSample, ProcessSample } from './sampler.ts';
import { printableName } from './top-processes-source.ts';

/** The fields of si.dockerContainers(true) entries that the report uses. */
export interface SiContainer {
  id: string;
  name: string;
  image: string;
  status: string;
  state: string;
  restartCount: number;
}

/** The fields of si.dockerContainerStats() entries that the report uses (I/O as totals since start). */
export interface SiContainerStats {
  id: string;
  memUsage: number;
  memLimit: number;
  memPercent: number;
  cpuPercent: number;
  netIO: { rx: number; wx: number };
  blockIO: { r: number; w: number };
  restartCount?: number;
}

/** I/O totals of one container at one time, for the next sample's rates. */
export interface SiContainerTotals {
  atMs: number;
  rx: number;
  tx: number;
  read: number;
  write: number;
}

const finite = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0);
const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * The containers of one sample: every listed container (stopped ones too, with zero usage), usage from
 * the stats of the running ones, I/O rates against `previous` (updated in place for the next call).
 */
export function containersFromSi(list: readonly SiContainer[], stats: readonly SiContainerStats[], previous: Map<string, SiContainerTotals>, atMs: number, max = 1000): ContainerSample[] {
  const byId = new Map(stats.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const out: ContainerSample[] = [];
  for (const c of list.slice(0, max)) {
    const id = String(c.id ?? '').slice(0, 64);
    if (!id) continue;
    seen.add(id);
    const s = c.state === 'running' ? byId.get(c.id) : undefined;
    const totals: SiContainerTotals | undefined = s && { atMs, rx: finite(s.netIO?.rx), tx: finite(s.netIO?.wx), read: finite(s.blockIO?.r), write: finite(s.blockIO?.w) };
    const before = previous.get(id);
    const rate = (key: 'rx' | 'tx' | 'read' | 'write') => (totals && before ? counterRatePerSec(before[key], totals[key], totals.atMs - before.atMs) : 0);
    const memoryLimitBytes = s ? finite(s.memLimit) : 0;
    const memoryBytes = s ? finite(s.memUsage) : 0;
    out.push({
      id,
      name: printableName(String(c.name ?? '').replace(/^\//, '')) || id.slice(0, 12),
      image: printableName(String(c.image ?? '')),
      state: printableName(String(c.state ?? '')),
      health: healthFromStatus(c.status),
      restartCount: finite(s?.restartCount ?? c.restartCount),
      cpuPercent: s ? round1(finite(s.cpuPercent)) : 0,
      memoryBytes,
      memoryLimitBytes,
      memoryPercent: s ? round1(finite(s.memPercent) || (memoryLimitBytes > 0 ? (memoryBytes / memoryLimitBytes) * 100 : 0)) : 0,
      netRecvBytesPerSec: rate('rx'),
      netSentBytesPerSec: rate('tx'),
      blockReadBytesPerSec: rate('read'),
      blockWriteBytesPerSec: rate('write'),
    });
    if (totals) previous.set(id, totals);
    else previous.delete(id);
  }
  for (const id of previous.keys()) if (!seen.has(id)) previous.delete(id);
  return out;
}

/** The fields of si.processes().list entries that the report uses (memRss in KiB, cpu in %). */
export interface SiProcess {
  pid: number;
  name: string;
  user: string;
  cpu: number;
  memRss: number;
  state: string;
}

/** si's process states are words ("running", "sleeping"); the report carries /proc's one-letter codes. */
const STATE_CODES: Record<string, string> = { running: 'R', sleeping: 'S', blocked: 'D', stopped: 'T', zombie: 'Z', idle: 'I' };

export function topProcessesFromSi(list: readonly SiProcess[], n: number): ProcessSample[] {
  const usage = list
    .filter((p) => Number.isInteger(p.pid) && p.pid >= 0)
    .map((p) => ({ p, pid: p.pid, cpuPercent: finite(p.cpu), rssBytes: finite(p.memRss) * 1024 }));
  return selectTopProcesses(usage, n).map(({ p, pid, cpuPercent, rssBytes }) => ({
    pid,
    name: printableName(String(p.name ?? '')),
    user: printableName(String(p.user ?? '')),
    cpuPercent: round1(cpuPercent),
    rssBytes,
    state: STATE_CODES[p.state] ?? (p.state ? printableName(String(p.state)).slice(0, 1).toUpperCase() : ''),
  }));
}

/** The fields of si.graphics().controllers entries that the report uses (memory in MiB). */
export interface SiGraphicsController {
  vendor: string;
  model: string;
  name?: string;
  memoryTotal?: number;
  memoryUsed?: number;
  vram?: number | null;
  utilizationGpu?: number;
  temperatureGpu?: number;
  powerDraw?: number;
}

export function gpuVendor(vendor: string): GpuSample['vendor'] | undefined {
  if (/nvidia/i.test(vendor)) return 'nvidia';
  if (/\bamd\b|advanced micro devices|\bati\b/i.test(vendor)) return 'amd';
  if (/intel/i.test(vendor)) return 'intel';
  if (/apple/i.test(vendor)) return 'apple';
  return undefined;
}

/**
 * The GPUs that report a utilisation (si has one where a vendor tool gives it, e.g. nvidia-smi on
 * Windows); a controller without one (an integrated GPU, Apple silicon) says nothing worth a row.
 */
export function gpusFromSi(controllers: readonly SiGraphicsController[]): GpuSample[] {
  const out: GpuSample[] = [];
  controllers.forEach((c, index) => {
    const vendor = gpuVendor(String(c.vendor ?? ''));
    if (!vendor || typeof c.utilizationGpu !== 'number' || !Number.isFinite(c.utilizationGpu)) return;
    const mib = 1024 * 1024;
    const hasTemperature = typeof c.temperatureGpu === 'number' && Number.isFinite(c.temperatureGpu);
    out.push({
      vendor,
      index,
      name: printableName(String(c.name || c.model || '')),
      utilizationPercent: Math.min(100, finite(c.utilizationGpu)),
      memoryUsedBytes: finite(c.memoryUsed) * mib,
      memoryTotalBytes: finite(c.memoryTotal ?? c.vram) * mib,
      temperatureCelsius: hasTemperature ? (c.temperatureGpu as number) : 0,
      hasTemperature,
      powerWatts: finite(c.powerDraw),
    });
  });
  return out;
}
