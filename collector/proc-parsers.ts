// Parsers for the text of /proc and /sys files the Linux sampler reads. Pure: each takes the file's
// text (tests feed fixed strings) and returns plain numbers; malformed lines are skipped, not thrown.
import type { CpuTicks } from './cpu-percent.ts';
import type { LoadSample, MemorySample } from './sampler.ts';

export interface ProcStat {
  total: CpuTicks;
  /** Per core, in the order of cpu0, cpu1, ... */
  cores: CpuTicks[];
}

function num(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

function ticksFrom(fields: string[]): CpuTicks {
  return {
    user: num(fields[0]),
    nice: num(fields[1]),
    system: num(fields[2]),
    idle: num(fields[3]),
    iowait: num(fields[4]),
    irq: num(fields[5]),
    softirq: num(fields[6]),
    steal: num(fields[7]),
  };
}

/** /proc/stat: the aggregate `cpu` line and the `cpuN` lines. */
export function parseProcStat(text: string): ProcStat {
  let total: CpuTicks | undefined;
  const cores: Array<{ index: number; ticks: CpuTicks }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [label, ...fields] = line.trim().split(/\s+/);
    if (label === 'cpu') total = ticksFrom(fields);
    else if (/^cpu\d+$/.test(label)) cores.push({ index: Number(label.slice(3)), ticks: ticksFrom(fields) });
  }
  if (!total) throw new Error('/proc/stat has no aggregate "cpu" line');
  cores.sort((a, b) => a.index - b.index);
  return { total, cores: cores.map((c) => c.ticks) };
}

/** /proc/meminfo (values in kB) → bytes and percentages. Uses MemAvailable where the kernel has it. */
export function parseMeminfo(text: string): MemorySample {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([\w()]+):\s+(\d+)/.exec(line);
    if (match) kb.set(match[1], Number(match[2]));
  }
  const bytes = (key: string) => (kb.get(key) ?? 0) * 1024;
  const totalBytes = bytes('MemTotal');
  const availableBytes = kb.has('MemAvailable')
    ? bytes('MemAvailable')
    : bytes('MemFree') + bytes('Buffers') + bytes('Cached') + bytes('SReclaimable');
  const usedBytes = Math.max(0, totalBytes - availableBytes);
  const swapTotalBytes = bytes('SwapTotal');
  const swapUsedBytes = Math.max(0, swapTotalBytes - bytes('SwapFree'));
  return {
    totalBytes,
    usedBytes,
    availableBytes: Math.min(availableBytes, totalBytes),
    usedPercent: totalBytes > 0 ? (usedBytes / totalBytes) * 100 : 0,
    swapTotalBytes,
    swapUsedBytes,
    swapPercent: swapTotalBytes > 0 ? (swapUsedBytes / swapTotalBytes) * 100 : 0,
  };
}

/** /proc/loadavg: "0.12 0.34 0.56 2/345 6789". */
export function parseLoadavg(text: string): LoadSample {
  const [one, five, fifteen] = text.trim().split(/\s+/);
  return { load1m: num(one), load5m: num(five), load15m: num(fifteen) };
}

/** /proc/uptime: "seconds-up seconds-idle". */
export function parseUptime(text: string): number {
  return num(text.trim().split(/\s+/)[0]);
}

export interface InterfaceCounters {
  name: string;
  recvBytes: number;
  recvErrors: number;
  sentBytes: number;
  sentErrors: number;
}

/** /proc/net/dev: two header lines, then "name: 16 counters" (8 receive, 8 transmit). */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    if (!name || fields.length < 11 || !/^\d+$/.test(fields[0])) continue;
    out.push({ name, recvBytes: num(fields[0]), recvErrors: num(fields[2]), sentBytes: num(fields[8]), sentErrors: num(fields[10]) });
  }
  return out;
}

export interface DiskCounters {
  device: string;
  readOps: number;
  readBytes: number;
  writeOps: number;
  writeBytes: number;
}

/** The kernel reports diskstats in 512-byte sectors whatever the device's real sector size. */
const DISKSTATS_SECTOR_BYTES = 512;

/** /proc/diskstats: "major minor name reads merged sectors ms writes merged sectors ms ...". */
export function parseDiskstats(text: string): DiskCounters[] {
  const out: DiskCounters[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+$/.test(f[0])) continue;
    out.push({
      device: f[2],
      readOps: num(f[3]),
      readBytes: num(f[5]) * DISKSTATS_SECTOR_BYTES,
      writeOps: num(f[7]),
      writeBytes: num(f[9]) * DISKSTATS_SECTOR_BYTES,
    });
  }
  return out;
}

/** Devices whose I/O would be counted twice or is not disk I/O: loop, RAM disks, device-mapper, md, optical. */
const NOT_PHYSICAL_DISK = /^(loop|ram|zram|dm-|md|sr|fd|nbd)/;

/**
 * Whole physical disks only: names that appear in /sys/block (partitions do not) and are not virtual,
 * so the disks' rates add up to the machine's real disk traffic.
 */
export function isPhysicalDisk(device: string, sysBlockNames: ReadonlySet<string>): boolean {
  return sysBlockNames.has(device) && !NOT_PHYSICAL_DISK.test(device);
}

export interface MountEntry {
  device: string;
  mount: string;
  fsType: string;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal (\040 ...). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** /proc/mounts: "device mountpoint fstype options dump pass". */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    out.push({ device: unescapeMountField(f[0]), mount: unescapeMountField(f[1]), fsType: f[2] });
  }
  return out;
}

/** Kernel and memory filesystems, read-only images and network shares (a dead share would hang statfs). */
const SKIPPED_FS_TYPES = new Set([
  'proc', 'sysfs', 'tmpfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'pstore', 'bpf', 'tracefs', 'debugfs',
  'securityfs', 'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'autofs', 'binfmt_misc', 'rpc_pipefs', 'nsfs',
  'ramfs', 'efivarfs', 'selinuxfs', 'squashfs', 'fuse.lxcfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'fuse.snapfuse',
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'sshfs', 'fuse.sshfs', 'afs', 'ceph', 'glusterfs', 'fuse.rclone',
]);

/**
 * The filesystems worth reporting: real ones, each device once (at its shortest mount path, so "/"
 * wins over bind mounts). An overlay counts only as a container's root ("/").
 */
/**
 * Orders strings by UTF-16 code units. Not localeCompare, which can load ICU's collation data: sorting
 * the unit names with it made the services source cost the collector 2.1 MiB of resident memory.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function selectRealFilesystems(mounts: readonly MountEntry[]): MountEntry[] {
  const byDevice = new Map<string, MountEntry>();
  for (const m of mounts) {
    if (SKIPPED_FS_TYPES.has(m.fsType)) continue;
    if (m.fsType === 'overlay' && m.mount !== '/') continue;
    const seen = byDevice.get(m.device);
    if (!seen || m.mount.length < seen.mount.length) byDevice.set(m.device, m);
  }
  return [...byDevice.values()].sort((a, b) => compareCodeUnits(a.mount, b.mount));
}

/** A /sys temperature file: millidegrees Celsius. null when unreadable or implausible. */
export function parseMillidegreesCelsius(text: string): number | null {
  const value = Number(text.trim());
  if (!Number.isFinite(value) || text.trim() === '') return null;
  const celsius = value / 1000;
  return celsius > -273.15 && celsius < 1000 ? celsius : null;
}

/** statfs numbers → the df view: used = blocks - free, percent of what non-root users can have. */
export function filesystemUsage(stats: { blocks: number; bfree: number; bavail: number; bsize: number }): {
  sizeBytes: number;
  usedBytes: number;
  usedPercent: number;
} {
  const sizeBytes = stats.blocks * stats.bsize;
  const usedBytes = Math.max(0, (stats.blocks - stats.bfree) * stats.bsize);
  const usable = usedBytes + stats.bavail * stats.bsize;
  return { sizeBytes, usedBytes, usedPercent: usable > 0 ? Math.min(100, (usedBytes / usable) * 100) : 0 };
}
