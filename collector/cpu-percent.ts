// CPU utilisation from two readings of /proc/stat tick counters. Busy time is everything except idle
// and iowait (as top and psutil count it); guest time is already inside user, so it is not added.
// Pure: ticks in, percentages (0..100) out.

export interface CpuTicks {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface CpuPercent {
  totalPercent: number;
  userPercent: number;
  systemPercent: number;
  iowaitPercent: number;
  stealPercent: number;
}

const ZERO: CpuPercent = { totalPercent: 0, userPercent: 0, systemPercent: 0, iowaitPercent: 0, stealPercent: 0 };

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

/** Utilisation between two tick readings. Counters that went backwards (CPU hotplug) count as 0. */
export function cpuPercent(previous: CpuTicks | undefined, current: CpuTicks): CpuPercent {
  if (!previous) return ZERO;
  const d = (key: keyof CpuTicks) => Math.max(0, current[key] - previous[key]);
  const user = d('user') + d('nice');
  const system = d('system') + d('irq') + d('softirq');
  const idle = d('idle');
  const iowait = d('iowait');
  const steal = d('steal');
  const total = user + system + idle + iowait + steal;
  if (total <= 0) return ZERO;
  const pct = (ticks: number) => clampPercent((ticks / total) * 100);
  return {
    totalPercent: pct(total - idle - iowait),
    userPercent: pct(user),
    systemPercent: pct(system),
    iowaitPercent: pct(iowait),
    stealPercent: pct(steal),
  };
}
