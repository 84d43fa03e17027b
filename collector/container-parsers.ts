// Pure pieces of the container source: what the Engine API's list and inspect answers mean, and the
// cgroup v2 files (cpu.stat, memory.current, memory.max, memory.stat, io.stat) and /proc/<pid>/cgroup
// read for the numbers. Tests feed recorded text; malformed input gives zeros, never a throw.
import { parseNetDev } from './proc-parsers.ts';
import type { ContainerIdentity } from './sampler.ts';

/** One entry of GET /containers/json?all=true (only the fields used). */
export interface EngineListEntry {
  Id?: string;
  Names?: string[];
  Image?: string;
  State?: string;
  Status?: string;
}

/** The fields used of GET /containers/{id}/json. */
export interface EngineInspect {
  Id?: string;
  Name?: string;
  RestartCount?: number;
  Config?: { Image?: string };
  State?: { Status?: string; Pid?: number; Health?: { Status?: string } | null };
}

export interface ContainerMeta extends ContainerIdentity {
  /** The main process in the host's PID namespace; 0 when not running. */
  pid: number;
}

export interface ContainerCounters {
  atMs: number;
  cpuUsec: number;
  netRecvBytes: number;
  netSentBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
}

function num(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** Docker names carry a leading "/" ("/web-1"); the first name is the container's own. */
export function containerName(names: readonly string[] | undefined, fallback: string): string {
  const first = names?.[0] ?? '';
  return (first.startsWith('/') ? first.slice(1) : first) || fallback;
}

/** The health check's state from the list's Status text: "Up 3 hours (healthy)", "(health: starting)". */
export function healthFromStatus(status: string | undefined): string {
  const match = /\((healthy|unhealthy|health: starting)\)/.exec(status ?? '');
  if (!match) return '';
  return match[1] === 'health: starting' ? 'starting' : match[1];
}

export function metaFromInspect(inspect: EngineInspect, listed: EngineListEntry): ContainerMeta {
  const id = (inspect.Id ?? listed.Id ?? '').slice(0, 64);
  const health = inspect.State?.Health?.Status;
  return {
    id,
    name: containerName(inspect.Name ? [inspect.Name] : listed.Names, id.slice(0, 12)),
    image: listed.Image ?? inspect.Config?.Image ?? '',
    state: inspect.State?.Status ?? listed.State ?? '',
    health: health === 'healthy' || health === 'unhealthy' || health === 'starting' ? health : healthFromStatus(listed.Status),
    restartCount: num(String(inspect.RestartCount ?? 0)),
    pid: num(String(inspect.State?.Pid ?? 0)),
  };
}

/** /proc/<pid>/cgroup: the cgroup v2 path ("0::/system.slice/docker-….scope"); null on a v1-only host. */
export function parseCgroupV2Path(text: string): string | null {
  for (const line of text.split('\n')) if (line.startsWith('0::')) return line.slice(3).trim() || '/';
  return null;
}

/** A flat-keyed cgroup file ("key value" lines: cpu.stat, memory.stat). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) out.set(line.slice(0, space), num(line.slice(space + 1).trim()));
  }
  return out;
}

/** memory.max: a byte count or "max" (no limit → null). */
export function parseMemoryMax(text: string): number | null {
  const v = text.trim();
  if (v === 'max' || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** io.stat: "8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…" per device, summed. */
export function parseIoStat(text: string): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      if (field.startsWith('rbytes=')) readBytes += num(field.slice(7));
      else if (field.startsWith('wbytes=')) writeBytes += num(field.slice(7));
    }
  }
  return { readBytes, writeBytes };
}

/** A container's network counters: its namespace's interfaces (from /proc/<pid>/net/dev) without lo. */
export function containerNetwork(netDevText: string): { recvBytes: number; sentBytes: number } {
  let recvBytes = 0;
  let sentBytes = 0;
  for (const i of parseNetDev(netDevText)) {
    if (i.name === 'lo') continue;
    recvBytes += i.recvBytes;
    sentBytes += i.sentBytes;
  }
  return { recvBytes, sentBytes };
}

/**
 * Memory in use the way `docker stats` shows it: usage without the inactive page cache
 * (cgroup v2 inactive_file, v1 total_inactive_file), never below zero.
 */
export function memoryInUse(usageBytes: number, stat: ReadonlyMap<string, number>): number {
  const inactive = stat.get('inactive_file') ?? stat.get('total_inactive_file') ?? 0;
  return Math.max(0, usageBytes - (inactive < usageBytes ? inactive : 0));
}

/** The fields used of GET /containers/{id}/stats?stream=false&one-shot=true (the fallback without cgroup files). */
export interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
}

export function countersFromEngineStats(stats: EngineStats, atMs: number): { counters: ContainerCounters; memoryBytes: number; memoryLimitBytes: number } {
  let netRecvBytes = 0;
  let netSentBytes = 0;
  for (const n of Object.values(stats.networks ?? {})) {
    netRecvBytes += num(String(n.rx_bytes ?? 0));
    netSentBytes += num(String(n.tx_bytes ?? 0));
  }
  let blockReadBytes = 0;
  let blockWriteBytes = 0;
  for (const e of stats.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (e.op ?? '').toLowerCase();
    if (op === 'read') blockReadBytes += num(String(e.value ?? 0));
    else if (op === 'write') blockWriteBytes += num(String(e.value ?? 0));
  }
  const memStat = new Map(Object.entries(stats.memory_stats?.stats ?? {}).map(([k, v]) => [k, num(String(v))]));
  return {
    counters: {
      atMs,
      cpuUsec: num(String(stats.cpu_stats?.cpu_usage?.total_usage ?? 0)) / 1000,
      netRecvBytes,
      netSentBytes,
      blockReadBytes,
      blockWriteBytes,
    },
    memoryBytes: memoryInUse(num(String(stats.memory_stats?.usage ?? 0)), memStat),
    memoryLimitBytes: num(String(stats.memory_stats?.limit ?? 0)),
  };
}

/** CPU % of one core between two readings, as `docker stats` shows it (200 = two cores busy). */
export function containerCpuPercent(previous: ContainerCounters | undefined, current: ContainerCounters): number {
  if (!previous) return 0;
  const elapsedUsec = (current.atMs - previous.atMs) * 1000;
  if (!(elapsedUsec > 0) || current.cpuUsec < previous.cpuUsec) return 0;
  return ((current.cpuUsec - previous.cpuUsec) / elapsedUsec) * 100;
}
