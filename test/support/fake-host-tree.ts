// Fake /proc and /sys trees for the collector's sources: processes (stat, status, cgroup, net/dev),
// cgroup v2 directories and sysfs files, written as the kernel formats them. Tests change the
// counters between two samples and check the rates the sources compute.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeProcess {
  pid: number;
  comm: string;
  state?: string;
  utime: number;
  stime: number;
  rssPages: number;
  uid?: number;
  vmRssKb?: number;
  /** Written to /proc/<pid>/cgroup as "0::<path>". */
  cgroup?: string;
  netDev?: string;
}

/** /proc/<pid>/stat as the kernel writes it (52 fields; the ones read are real, the rest plausible). */
export function pidStatLine(p: FakeProcess): string {
  const f = new Array<string>(52).fill('0');
  f[0] = String(p.pid);
  f[1] = `(${p.comm})`;
  f[2] = p.state ?? 'S';
  f[3] = '1';
  f[13] = String(p.utime);
  f[14] = String(p.stime);
  f[18] = '20';
  f[19] = '1';
  f[22] = String(p.rssPages * 4096 * 2);
  f[23] = String(p.rssPages);
  return f.join(' ') + '\n';
}

export function netDevText(interfaces: Array<{ name: string; rx: number; tx: number }>): string {
  const head = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
  return head + interfaces.map((i) => `${i.name.padStart(6)}: ${i.rx} 100 0 0 0 0 0 0 ${i.tx} 90 0 0 0 0 0 0`).join('\n') + '\n';
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

export function writeProcess(procDir: string, p: FakeProcess): void {
  const files: Record<string, string> = {
    [`${p.pid}/stat`]: pidStatLine(p),
    [`${p.pid}/status`]: `Name:\t${p.comm}\nState:\t${p.state ?? 'S'} (sleeping)\nPid:\t${p.pid}\nUid:\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\n${p.vmRssKb === undefined ? '' : `VmRSS:\t${p.vmRssKb} kB\n`}Threads:\t1\n`,
  };
  if (p.cgroup !== undefined) files[`${p.pid}/cgroup`] = `0::${p.cgroup}\n`;
  if (p.netDev !== undefined) files[`${p.pid}/net/dev`] = p.netDev;
  writeTree(procDir, files);
}

/** A cgroup v2 directory with the files the container source reads. */
export function writeCgroup(sysDir: string, cgroupPath: string, c: { usageUsec: number; memoryCurrent: number; inactiveFile: number; memoryMax: number | 'max'; rbytes: number; wbytes: number }): void {
  const dir = `fs/cgroup${cgroupPath}`;
  writeTree(sysDir, {
    [`${dir}/cpu.stat`]: `usage_usec ${c.usageUsec}\nuser_usec ${Math.round(c.usageUsec * 0.7)}\nsystem_usec ${Math.round(c.usageUsec * 0.3)}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`,
    [`${dir}/memory.current`]: `${c.memoryCurrent}\n`,
    [`${dir}/memory.max`]: `${c.memoryMax}\n`,
    [`${dir}/memory.stat`]: `anon 41943040\nfile ${c.inactiveFile * 2}\nkernel 1048576\nactive_anon 40000000\ninactive_anon 0\nactive_file ${c.inactiveFile}\ninactive_file ${c.inactiveFile}\n`,
    [`${dir}/io.stat`]: `8:0 rbytes=${c.rbytes} wbytes=${c.wbytes} rios=100 wios=50 dbytes=0 dios=0\n259:0 rbytes=1000 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n`,
  });
}
