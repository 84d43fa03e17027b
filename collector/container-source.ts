// Containers of the local Docker or Podman engine. The Engine API (over its unix socket) gives the
// list, names, images, states, health and restart counts, refreshed every LIST_REFRESH_MS; the numbers
// of every sample come from each container's cgroup v2 files and its network namespace's
// /proc/<pid>/net/dev — a few small reads per container, no process spawned and no request to the
// engine per interval. Where those files are not readable (cgroup v1, another cgroup namespace, a
// remote VM like Docker Desktop) it falls back to the engine's one-shot stats.
import { readFileSync, statSync } from 'node:fs';
import { createDockerApi, type DockerApi } from './docker-api.ts';
import {
  containerCpuPercent,
  containerNetwork,
  countersFromEngineStats,
  healthFromStatus,
  memoryInUse,
  metaFromInspect,
  parseCgroupV2Path,
  parseFlatKeyed,
  parseIoStat,
  parseMemoryMax,
  type ContainerCounters,
  type ContainerMeta,
  type EngineInspect,
  type EngineListEntry,
  type EngineStats,
} from './container-parsers.ts';
import { counterRatePerSec } from './rates.ts';
import type { ContainerSample } from './sampler.ts';

export const LIST_REFRESH_MS = 10_000;
/** Every container is inspected again this often (restart counts), and at once when its state changes. */
const INSPECT_REFRESH_MS = 60_000;
export const MAX_CONTAINERS = 1000;

export interface ContainerSourceOptions {
  procDir: string;
  sysDir: string;
  /** The machine's memory: the limit of a container without one. */
  machineMemoryBytes: number;
  now?: () => number;
}

export interface ContainerSource {
  readonly engine: 'docker' | 'podman';
  readonly socketPath: string;
  sample(): Promise<ContainerSample[]>;
}

/** The sockets tried, in order, when DOCKER_HOST is not set. */
export function defaultDockerSockets(uid: number | undefined): string[] {
  const sockets = ['/var/run/docker.sock', '/run/podman/podman.sock'];
  if (uid !== undefined) sockets.push(`/run/user/${uid}/podman/podman.sock`, `/run/user/${uid}/docker.sock`);
  return sockets;
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Pseudo files of /proc and /sys: read synchronously (they never wait on a disk; a promise per read would cost more). */
function readSmall(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The first socket that answers the Engine API, or null (no engine: the source stays off). */
export async function detectContainerSource(sockets: readonly string[], options: ContainerSourceOptions): Promise<ContainerSource | null> {
  for (const socketPath of sockets) {
    if (!isSocket(socketPath)) continue;
    const api = createDockerApi(socketPath);
    try {
      const version = await api.get<{ Components?: Array<{ Name?: string }> }>('/version');
      const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
      return createContainerSource(api, podman ? 'podman' : 'docker', options);
    } catch {
      /* not an engine, or no permission: try the next one */
    }
  }
  return null;
}

interface Tracked {
  meta: ContainerMeta;
  listedState: string;
  inspectedAtMs: number;
  /** <sys>/fs/cgroup/<path> of the container, null when not readable (then the API's stats). */
  cgroupDir: string | null;
  previous?: ContainerCounters;
}

export function createContainerSource(api: DockerApi, engine: 'docker' | 'podman', options: ContainerSourceOptions): ContainerSource {
  const now = options.now ?? Date.now;
  const tracked = new Map<string, Tracked>();
  let listedAtMs = -Infinity;
  let refreshing: Promise<void> | undefined;

  function cgroupDirOf(pid: number): string | null {
    if (pid <= 0) return null;
    const text = readSmall(`${options.procDir}/${pid}/cgroup`);
    const path = text === null ? null : parseCgroupV2Path(text);
    if (path === null) return null;
    const dir = `${options.sysDir}/fs/cgroup${path === '/' ? '' : path}`;
    return readSmall(`${dir}/cpu.stat`) === null ? null : dir;
  }

  async function inspect(id: string, listed: EngineListEntry, atMs: number): Promise<Tracked | null> {
    try {
      const meta = metaFromInspect(await api.get<EngineInspect>(`/containers/${encodeURIComponent(id)}/json`), listed);
      return { meta, listedState: listed.State ?? '', inspectedAtMs: atMs, cgroupDir: meta.state === 'running' ? cgroupDirOf(meta.pid) : null };
    } catch {
      return null; // removed between the list and the inspect
    }
  }

  async function refreshList(): Promise<void> {
    const atMs = now();
    listedAtMs = atMs; // also when the engine fails: tried again at the next refresh, not every sample
    const listed = (await api.get<EngineListEntry[]>('/containers/json?all=true')).filter((c) => typeof c.Id === 'string').slice(0, MAX_CONTAINERS);
    const seen = new Set<string>();
    for (const entry of listed) {
      const id = entry.Id!;
      seen.add(id);
      const known = tracked.get(id);
      if (known && known.listedState === (entry.State ?? '') && atMs - known.inspectedAtMs < INSPECT_REFRESH_MS) {
        known.meta.health = healthFromStatus(entry.Status) || known.meta.health;
        continue;
      }
      const fresh = await inspect(id, entry, atMs);
      if (!fresh) continue;
      // Same process, same counters: the rates go on across the refresh.
      if (known && known.meta.pid === fresh.meta.pid) fresh.previous = known.previous;
      tracked.set(id, fresh);
    }
    for (const id of tracked.keys()) if (!seen.has(id)) tracked.delete(id);
  }

  function readCgroup(t: Tracked, atMs: number): { counters: ContainerCounters; memoryBytes: number; limitBytes: number | null } | null {
    const dir = t.cgroupDir!;
    const cpuStat = readSmall(`${dir}/cpu.stat`);
    if (cpuStat === null) return null; // the container stopped or restarted: inspect it again
    const stat = parseFlatKeyed(readSmall(`${dir}/memory.stat`) ?? '');
    const usage = Number((readSmall(`${dir}/memory.current`) ?? '0').trim()) || 0;
    const io = parseIoStat(readSmall(`${dir}/io.stat`) ?? '');
    const net = containerNetwork(readSmall(`${options.procDir}/${t.meta.pid}/net/dev`) ?? '');
    return {
      counters: {
        atMs,
        cpuUsec: parseFlatKeyed(cpuStat).get('usage_usec') ?? 0,
        netRecvBytes: net.recvBytes,
        netSentBytes: net.sentBytes,
        blockReadBytes: io.readBytes,
        blockWriteBytes: io.writeBytes,
      },
      memoryBytes: memoryInUse(usage, stat),
      limitBytes: parseMemoryMax(readSmall(`${dir}/memory.max`) ?? 'max'),
    };
  }

  async function readEngineStats(t: Tracked, atMs: number) {
    try {
      const stats = await api.get<EngineStats>(`/containers/${encodeURIComponent(t.meta.id)}/stats?stream=false&one-shot=true`);
      const r = countersFromEngineStats(stats, atMs);
      return { counters: r.counters, memoryBytes: r.memoryBytes, limitBytes: r.memoryLimitBytes > 0 ? r.memoryLimitBytes : null };
    } catch {
      return null;
    }
  }

  async function sampleOne(t: Tracked): Promise<ContainerSample> {
    const { meta } = t;
    const base: ContainerSample = {
      id: meta.id.slice(0, 12),
      name: meta.name,
      image: meta.image,
      state: meta.state,
      health: meta.health,
      restartCount: meta.restartCount,
      cpuPercent: 0,
      memoryBytes: 0,
      memoryLimitBytes: 0,
      memoryPercent: 0,
      netRecvBytesPerSec: 0,
      netSentBytesPerSec: 0,
      blockReadBytesPerSec: 0,
      blockWriteBytesPerSec: 0,
    };
    if (meta.state !== 'running') return base;
    const atMs = now();
    let read = t.cgroupDir ? readCgroup(t, atMs) : await readEngineStats(t, atMs);
    if (read === null && t.cgroupDir) {
      t.inspectedAtMs = -Infinity; // look again at the next refresh
      listedAtMs = -Infinity;
      read = await readEngineStats(t, atMs);
    }
    if (read === null) return base;
    const p = t.previous;
    const elapsedMs = p ? read.counters.atMs - p.atMs : 0;
    t.previous = read.counters;
    // No limit, or one above the machine's memory: the machine's memory is what the container can have.
    const machine = options.machineMemoryBytes;
    const limit = read.limitBytes === null || (machine > 0 && read.limitBytes > machine) ? machine : read.limitBytes;
    return {
      ...base,
      cpuPercent: containerCpuPercent(p, read.counters),
      memoryBytes: read.memoryBytes,
      memoryLimitBytes: limit,
      memoryPercent: limit > 0 ? Math.min(100, (read.memoryBytes / limit) * 100) : 0,
      netRecvBytesPerSec: counterRatePerSec(p?.netRecvBytes, read.counters.netRecvBytes, elapsedMs),
      netSentBytesPerSec: counterRatePerSec(p?.netSentBytes, read.counters.netSentBytes, elapsedMs),
      blockReadBytesPerSec: counterRatePerSec(p?.blockReadBytes, read.counters.blockReadBytes, elapsedMs),
      blockWriteBytesPerSec: counterRatePerSec(p?.blockWriteBytes, read.counters.blockWriteBytes, elapsedMs),
    };
  }

  return {
    engine,
    socketPath: api.socketPath,
    async sample() {
      if (now() - listedAtMs >= LIST_REFRESH_MS) {
        // A slow engine never holds up a sample: the refresh runs beside it, the last list is used.
        refreshing ??= refreshList().finally(() => (refreshing = undefined));
        if (tracked.size === 0) await refreshing.catch(() => {});
        else refreshing.catch(() => {});
      }
      return Promise.all([...tracked.values()].map(sampleOne));
    },
  };
}
