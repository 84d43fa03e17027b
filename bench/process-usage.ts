// CPU time and memory of a process and everything it started, read from Linux /proc: what the
// footprint benchmarks compare. CPU of a tree = Σ over its live members of utime + stime + cutime +
// cstime (a child that exited and was waited for is in its parent's cutime/cstime, so nothing is lost
// or counted twice). Peak RSS = Σ VmHWM of the members (each process's own high-water mark). The
// parsers are pure and tested; the readers are a thin shell around /proc.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks (USER_HZ). */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** Parses /proc/<pid>/stat. The command may contain spaces and parentheses: it ends at the last ")". */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const rest = text.slice(close + 2).trim().split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3]
  const field = (n: number) => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc stat field ${n} is not a number in: ${text.slice(0, 80)}`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: field(4),
    pgrp: field(5),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/** A "Name:   1234 kB" line of /proc/<pid>/status in bytes (undefined when absent, e.g. a zombie). */
export function parseStatusKb(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

let ticksPerSecond: number | undefined;
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process exited meanwhile
  }
}

export function readProcStat(pid: number): ProcStat | undefined {
  const text = tryRead(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/** Every live process: pid → stat. */
export function readAllProcStats(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat) out.set(stat.pid, stat);
  }
  return out;
}

/** `root` and all its live descendants, from one snapshot of the process table (pure). */
export function descendants(stats: ReadonlyMap<number, ProcStat>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const s of stats.values()) {
    const list = children.get(s.ppid);
    if (list) list.push(s.pid);
    else children.set(s.ppid, [s.pid]);
  }
  if (!stats.has(root)) return [];
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds of the given processes (own + waited-for children), from one snapshot (pure). */
export function cpuSecondsOf(stats: ReadonlyMap<number, ProcStat>, pids: readonly number[], hz: number): number {
  let ticks = 0;
  for (const pid of pids) {
    const s = stats.get(pid);
    if (s) ticks += s.utime + s.stime + s.cutime + s.cstime;
  }
  return ticks / hz;
}

export interface TreeUsage {
  /** CPU seconds so far (user + system, including exited children that were waited for). */
  cpuSeconds: number;
  /** Σ VmRSS of the live members, bytes. */
  rssBytes: number;
  /** Σ VmHWM (peak RSS) of the live members, bytes. */
  hwmBytes: number;
  pids: number[];
}

/** CPU and memory of `root` and its descendants right now; undefined when `root` is gone. */
export function treeUsage(root: number): TreeUsage | undefined {
  const stats = readAllProcStats();
  const pids = descendants(stats, root);
  if (pids.length === 0) return undefined;
  let rssBytes = 0;
  let hwmBytes = 0;
  for (const pid of pids) {
    const status = tryRead(`/proc/${pid}/status`);
    if (!status) continue;
    rssBytes += parseStatusKb(status, 'VmRSS') ?? 0;
    hwmBytes += parseStatusKb(status, 'VmHWM') ?? 0;
  }
  return { cpuSeconds: cpuSecondsOf(stats, pids, clockTicksPerSecond()), rssBytes, hwmBytes, pids };
}

/**
 * Samples a process tree every `everyMs` and keeps what a single reading at the end would miss: the
 * largest Σ VmHWM and Σ VmRSS ever seen (short-lived children included while they were alive) and the
 * last CPU reading before the root exited.
 */
export class TreeSampler {
  readonly root: number;
  private timer: NodeJS.Timeout | undefined;
  peakHwmBytes = 0;
  peakRssBytes = 0;
  last: TreeUsage | undefined;
  samples = 0;

  constructor(root: number) {
    this.root = root;
  }

  sample(): TreeUsage | undefined {
    const u = treeUsage(this.root);
    if (u) {
      this.last = u;
      this.samples++;
      this.peakHwmBytes = Math.max(this.peakHwmBytes, u.hwmBytes);
      this.peakRssBytes = Math.max(this.peakRssBytes, u.rssBytes);
    }
    return u;
  }

  start(everyMs = 1000): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    return this;
  }

  stop(): TreeUsage | undefined {
    clearInterval(this.timer);
    return this.sample() ?? this.last;
  }
}
