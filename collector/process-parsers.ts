// Pure pieces of the top-processes source: /proc/<pid>/stat and /proc/<pid>/status, /etc/passwd, and
// the choice of the top N by CPU and by memory. Malformed text gives null or zeros, never a throw.

export interface PidStat {
  name: string;
  /** R, S, D, Z, T, I ... */
  state: string;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
}

/**
 * /proc/<pid>/stat: "pid (comm) state ppid ... utime(14) stime(15) ... rss(24) ...". The command name
 * may hold spaces and parentheses, so the fields are counted from the last ")".
 */
export function parsePidStat(text: string): PidStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14 → index 11, stime 12, rss (field 24) → 21.
  if (fields.length < 22) return null;
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rss = Number(fields[21]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { name: text.slice(open + 1, close), state: fields[0], cpuTicks: utime + stime, rssPages: Number.isFinite(rss) && rss > 0 ? rss : 0 };
}

/** /proc/<pid>/status: the real uid and VmRSS (kB → bytes; absent for kernel threads). */
export function parsePidStatus(text: string): { uid: number | null; rssBytes: number | null } {
  const uid = /^Uid:\s+(\d+)/m.exec(text);
  const rss = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  return { uid: uid ? Number(uid[1]) : null, rssBytes: rss ? Number(rss[1]) * 1024 : null };
}

/** /etc/passwd: uid → user name. */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]) && !users.has(Number(f[2]))) users.set(Number(f[2]), f[0]);
  }
  return users;
}

export interface ProcessUsage {
  pid: number;
  cpuPercent: number;
  rssBytes: number;
}

/** CPU % of one core from two readings of utime + stime (USER_HZ ticks) `elapsedMs` apart. */
export function processCpuPercent(previousTicks: number | undefined, currentTicks: number, elapsedMs: number, ticksPerSec = 100): number {
  if (previousTicks === undefined || !(elapsedMs > 0) || currentTicks < previousTicks) return 0;
  return ((currentTicks - previousTicks) / ticksPerSec / (elapsedMs / 1000)) * 100;
}

/**
 * The top `n` by CPU and the top `n` by memory, together (a process in both lists once), ordered by
 * CPU then memory. Ties broken by pid so the choice is stable.
 */
export function selectTopProcesses<T extends ProcessUsage>(processes: readonly T[], n: number): T[] {
  if (n <= 0) return [];
  const byCpu = [...processes].sort((a, b) => b.cpuPercent - a.cpuPercent || b.rssBytes - a.rssBytes || a.pid - b.pid);
  const byMemory = [...processes].sort((a, b) => b.rssBytes - a.rssBytes || a.pid - b.pid);
  const chosen = new Set<T>([...byCpu.slice(0, n), ...byMemory.slice(0, n)]);
  return byCpu.filter((p) => chosen.has(p));
}
