// The top processes by CPU and by memory, from /proc: one small read of /proc/<pid>/stat per process
// every TOP_PROCESSES_INTERVAL (not every sample), then /proc/<pid>/status only for the chosen few
// (user and exact RSS). CPU % is over the time since the previous reading. Linux only.
import { readdirSync, readFileSync } from 'node:fs';
import { parsePasswd, parsePidStat, parsePidStatus, processCpuPercent, selectTopProcesses } from './process-parsers.ts';
import type { ProcessSample } from './sampler.ts';

export interface TopProcessesOptions {
  procDir: string;
  /** Where /etc/passwd is read for user names (the host's root in a container). */
  rootDir: string;
  count: number;
  intervalMs: number;
  now?: () => number;
  /** Bytes per page for ranking by memory before the exact VmRSS is read (4 KiB on most machines). */
  pageBytes?: number;
}

export interface TopProcessesSource {
  /** Reads the counters once, so the first result has CPU over a real interval. */
  prime(): void;
  /** The top processes when TOP_PROCESSES_INTERVAL has passed since the last ones, else undefined. */
  sampleIfDue(): ProcessSample[] | undefined;
}

/** Any process may name itself anything: control characters become "?" (the hub refuses them), 256 characters at most. */
export function printableName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 256);
}

function readSmall(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function createTopProcessesSource(options: TopProcessesOptions): TopProcessesSource {
  const now = options.now ?? Date.now;
  const pageBytes = options.pageBytes ?? 4096;
  let previous = new Map<number, number>();
  let previousAtMs: number | undefined;
  let users: Map<number, string> | undefined;
  let usersReadAtMs = -Infinity;

  function userName(uid: number | null): string {
    if (uid === null) return '';
    const t = now();
    // Re-read now and then: users are added while the collector runs.
    if (!users || t - usersReadAtMs > 300_000) {
      users = parsePasswd(readSmall(`${options.rootDir === '/' ? '' : options.rootDir}/etc/passwd`) ?? '');
      usersReadAtMs = t;
    }
    return users.get(uid) ?? String(uid);
  }

  function read(): { atMs: number; stats: Map<number, { name: string; state: string; cpuTicks: number; rssPages: number }> } {
    const atMs = now();
    const stats = new Map<number, { name: string; state: string; cpuTicks: number; rssPages: number }>();
    let names: string[];
    try {
      names = readdirSync(options.procDir);
    } catch {
      names = [];
    }
    for (const entry of names) {
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const text = readSmall(`${options.procDir}/${entry}/stat`);
      const stat = text === null ? null : parsePidStat(text);
      if (stat) stats.set(Number(entry), stat);
    }
    return { atMs, stats };
  }

  return {
    prime() {
      const r = read();
      previous = new Map([...r.stats].map(([pid, s]) => [pid, s.cpuTicks]));
      previousAtMs = r.atMs;
    },
    sampleIfDue() {
      if (previousAtMs !== undefined && now() - previousAtMs < options.intervalMs - 50) return undefined;
      const { atMs, stats } = read();
      const elapsedMs = previousAtMs === undefined ? 0 : atMs - previousAtMs;
      const usage = [...stats].map(([pid, s]) => ({ pid, cpuPercent: processCpuPercent(previous.get(pid), s.cpuTicks, elapsedMs), rssBytes: s.rssPages * pageBytes }));
      previous = new Map([...stats].map(([pid, s]) => [pid, s.cpuTicks]));
      previousAtMs = atMs;
      return selectTopProcesses(usage, options.count).map((u) => {
        const s = stats.get(u.pid)!;
        const status = parsePidStatus(readSmall(`${options.procDir}/${u.pid}/status`) ?? '');
        return {
          pid: u.pid,
          name: printableName(s.name),
          user: printableName(userName(status.uid)),
          cpuPercent: Math.round(u.cpuPercent * 10) / 10,
          rssBytes: status.rssBytes ?? u.rssBytes,
          state: s.state,
        };
      });
    },
  };
}
