// The Linux sampler: reads /proc and /sys directly (a handful of small files per interval, no child
// processes), keeps the previous counters and turns them into percentages and per-second rates.
import { readdir, readFile, statfs } from 'node:fs/promises';
import { arch, cpus, release } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuPercent, type CpuTicks } from './cpu-percent.ts';
import {
  filesystemUsage,
  isPhysicalDisk,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMillidegreesCelsius,
  parseMounts,
  parseNetDev,
  parseProcStat,
  parseUptime,
  selectRealFilesystems,
  type DiskCounters,
  type InterfaceCounters,
} from './proc-parsers.ts';
import { counterRatePerSec } from './rates.ts';
import type { FilesystemSample, MachineInfo, MachineSample, Sampler, TemperatureSample } from './sampler.ts';

export interface ProcSamplerOptions {
  /** Root of procfs and sysfs; tests of real machines use the defaults. */
  procDir?: string;
  sysDir?: string;
  /**
   * Where the host's root file system is visible (default "/"). In a container that mounts the host
   * at /host, mounts are read from the host's init process (`<procDir>/1/mounts`, which needs the
   * host PID namespace), statfs runs on `<rootDir><mount>`, and the OS name comes from the host.
   */
  rootDir?: string;
  /** A statfs slower than this (a stuck mount) leaves that filesystem out of this sample. */
  statfsTimeoutMs?: number;
}

interface Counters {
  atMs: number;
  cpuTotal: CpuTicks;
  cpuCores: CpuTicks[];
  interfaces: Map<string, InterfaceCounters>;
  disks: Map<string, DiskCounters>;
}

interface SensorFile {
  sensor: string;
  path: string;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  return Promise.race([promise.catch(() => null), timeout]).finally(() => clearTimeout(timer));
}

export function createProcSampler(options: ProcSamplerOptions = {}): Sampler {
  const proc = options.procDir ?? '/proc';
  const sys = options.sysDir ?? '/sys';
  const root = options.rootDir ?? '/';
  const onHost = root === '/';
  const statfsTimeoutMs = options.statfsTimeoutMs ?? 1000;
  let previous: Counters | undefined;
  let sensors: Promise<SensorFile[]> | undefined;
  let blockDevices: Promise<Set<string>> | undefined;

  async function discoverSensors(): Promise<SensorFile[]> {
    const found: SensorFile[] = [];
    const used = new Set<string>();
    const add = (sensor: string, path: string) => {
      let name = sensor;
      for (let i = 2; used.has(name); i++) name = `${sensor}-${i}`;
      used.add(name);
      found.push({ sensor: name, path });
    };
    const hwmonRoot = `${sys}/class/hwmon`;
    for (const hwmon of (await listDir(hwmonRoot)).sort()) {
      const dir = `${hwmonRoot}/${hwmon}`;
      const chip = (await readText(`${dir}/name`))?.trim() || hwmon;
      for (const file of (await listDir(dir)).filter((f) => /^temp\d+_input$/.test(f)).sort()) {
        const label = (await readText(`${dir}/${file.replace('_input', '_label')}`))?.trim();
        add(label ? `${chip} ${label}` : `${chip} ${file.replace('_input', '')}`, `${dir}/${file}`);
      }
    }
    // Thermal zones often duplicate hwmon sensors; use them only where hwmon has nothing.
    if (found.length === 0) {
      const thermalRoot = `${sys}/class/thermal`;
      for (const zone of (await listDir(thermalRoot)).filter((z) => z.startsWith('thermal_zone')).sort()) {
        const type = (await readText(`${thermalRoot}/${zone}/type`))?.trim() || zone;
        add(type, `${thermalRoot}/${zone}/temp`);
      }
    }
    return found;
  }

  async function readCounters(): Promise<Counters> {
    const [statText, netText, diskText, blocks] = await Promise.all([
      readFile(`${proc}/stat`, 'utf8'),
      readText(`${proc}/net/dev`),
      readText(`${proc}/diskstats`),
      (blockDevices ??= listDir(`${sys}/block`).then((names) => new Set(names))),
    ]);
    const stat = parseProcStat(statText);
    return {
      atMs: performance.now(),
      cpuTotal: stat.total,
      cpuCores: stat.cores,
      interfaces: new Map(parseNetDev(netText ?? '').map((i) => [i.name, i])),
      disks: new Map(parseDiskstats(diskText ?? '').filter((d) => isPhysicalDisk(d.device, blocks)).map((d) => [d.device, d])),
    };
  }

  async function readFilesystems(): Promise<FilesystemSample[]> {
    const mountsText = (!onHost ? await readText(`${proc}/1/mounts`) : null) ?? (await readText(`${proc}/mounts`)) ?? '';
    const mounts = selectRealFilesystems(parseMounts(mountsText));
    const results = await Promise.all(
      mounts.map(async (m) => {
        const stats = await withTimeout(statfs(onHost ? m.mount : join(root, m.mount)), statfsTimeoutMs);
        if (!stats || stats.blocks <= 0) return null;
        return { mount: m.mount, device: m.device, fsType: m.fsType, ...filesystemUsage(stats) };
      }),
    );
    return results.filter((r): r is FilesystemSample => r !== null);
  }

  async function readTemperatures(): Promise<TemperatureSample[]> {
    const files = await (sensors ??= discoverSensors());
    const values = await Promise.all(
      files.map(async (f) => {
        const text = await readText(f.path);
        const celsius = text === null ? null : parseMillidegreesCelsius(text);
        return celsius === null ? null : { sensor: f.sensor, celsius };
      }),
    );
    return values.filter((v): v is TemperatureSample => v !== null);
  }

  async function countProcesses(): Promise<number> {
    let count = 0;
    for (const name of await listDir(proc)) if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) count++;
    return count;
  }

  return {
    kind: 'proc',

    async prime() {
      previous = await readCounters();
    },

    async sample(): Promise<MachineSample> {
      const [counters, memText, loadText, uptimeText, filesystems, temperatures, processCount] = await Promise.all([
        readCounters(),
        readFile(`${proc}/meminfo`, 'utf8'),
        readFile(`${proc}/loadavg`, 'utf8'),
        readFile(`${proc}/uptime`, 'utf8'),
        readFilesystems(),
        readTemperatures(),
        countProcesses(),
      ]);
      const before = previous;
      previous = counters;
      const elapsedMs = before ? counters.atMs - before.atMs : 0;
      const rate = (prev: number | undefined, curr: number) => counterRatePerSec(prev, curr, elapsedMs);

      const total = cpuPercent(before?.cpuTotal, counters.cpuTotal);
      return {
        cpu: {
          ...total,
          perCorePercent: counters.cpuCores.map((core, i) => cpuPercent(before?.cpuCores[i], core).totalPercent),
          coreCount: counters.cpuCores.length,
        },
        memory: parseMeminfo(memText),
        load: parseLoadavg(loadText),
        filesystems,
        disks: [...counters.disks.values()].map((d) => {
          const p = before?.disks.get(d.device);
          return {
            device: d.device,
            readBytesPerSec: rate(p?.readBytes, d.readBytes),
            writeBytesPerSec: rate(p?.writeBytes, d.writeBytes),
            readOpsPerSec: rate(p?.readOps, d.readOps),
            writeOpsPerSec: rate(p?.writeOps, d.writeOps),
          };
        }),
        network: [...counters.interfaces.values()].map((n) => {
          const p = before?.interfaces.get(n.name);
          return {
            name: n.name,
            recvBytesPerSec: rate(p?.recvBytes, n.recvBytes),
            sentBytesPerSec: rate(p?.sentBytes, n.sentBytes),
            recvBytesTotal: n.recvBytes,
            sentBytesTotal: n.sentBytes,
            recvErrorsPerSec: rate(p?.recvErrors, n.recvErrors),
            sentErrorsPerSec: rate(p?.sentErrors, n.sentErrors),
          };
        }),
        processCount,
        uptimeSeconds: parseUptime(uptimeText),
        temperatures,
      };
    },

    async describe(): Promise<MachineInfo> {
      const osRelease = (await readText(join(root, 'etc/os-release'))) ?? (await readText(join(root, 'usr/lib/os-release'))) ?? '';
      const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1];
      return { os: pretty || 'Linux', kernel: release(), arch: arch(), cpuModel: cpus()[0]?.model?.trim() ?? '' };
    },
  };
}
