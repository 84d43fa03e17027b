// The headline metric names and how they are derived from a Report.
// One module, imported by the hub, the relay and the dashboard, so the names never drift apart.
import type { Report } from './gen/sysmonstm/v1/report_pb.js';

/** Headline metrics: the columns of history, the keys of `metrics` in the REST API. */
export const METRIC_NAMES = [
  'cpu_percent',
  'cpu_user_percent',
  'cpu_system_percent',
  'cpu_iowait_percent',
  'cpu_steal_percent',
  'memory_percent',
  'memory_used_bytes',
  'swap_percent',
  'disk_percent',
  'load_avg_1m',
  'load_avg_5m',
  'load_avg_15m',
  'network_recv_bytes_sec',
  'network_sent_bytes_sec',
  'disk_read_bytes_sec',
  'disk_write_bytes_sec',
  'process_count',
  'temperature_c',
  'uptime_seconds',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
export type Metrics = Record<MetricName, number | null>;

const metricNameSet: ReadonlySet<string> = new Set(METRIC_NAMES);
export function isMetricName(name: string): name is MetricName {
  return metricNameSet.has(name);
}

/**
 * Interfaces left out of a machine's network totals: loopback, container and bridge plumbing, and the
 * interfaces whose traffic also crosses a physical NIC — traffic shaping (`ifb*`) and tunnels (`tun*`,
 * `tap*`, `wg*`): VPN traffic is real, but counting it would count the same bytes twice. The per-
 * interface rates in the report still list them all.
 */
const VIRTUAL_INTERFACE_PREFIXES = ['veth', 'docker', 'br-', 'virbr', 'ifb', 'tun', 'tap', 'wg'] as const;

export function isPhysicalInterface(name: string): boolean {
  return name !== 'lo' && !VIRTUAL_INTERFACE_PREFIXES.some((p) => name.startsWith(p));
}

function sum(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Reduces a full report to its headline numbers. `null` where the machine has no such value. */
export function summarize(report: Report): Metrics {
  const cpu = report.cpu;
  const mem = report.memory;
  const load = report.load;
  const nics = report.network.filter((n) => isPhysicalInterface(n.name));
  const disk = report.filesystems.length > 0 ? Math.max(...report.filesystems.map((f) => f.usedPercent)) : null;
  const temperature = report.temperatures.length > 0 ? Math.max(...report.temperatures.map((t) => t.celsius)) : null;
  return {
    cpu_percent: cpu ? round(cpu.totalPercent) : null,
    cpu_user_percent: cpu ? round(cpu.userPercent) : null,
    cpu_system_percent: cpu ? round(cpu.systemPercent) : null,
    cpu_iowait_percent: cpu ? round(cpu.iowaitPercent) : null,
    cpu_steal_percent: cpu ? round(cpu.stealPercent) : null,
    memory_percent: mem ? round(mem.usedPercent) : null,
    memory_used_bytes: mem ? mem.usedBytes : null,
    swap_percent: mem ? round(mem.swapPercent) : null,
    disk_percent: disk === null ? null : round(disk),
    load_avg_1m: load ? round(load.load1m) : null,
    load_avg_5m: load ? round(load.load5m) : null,
    load_avg_15m: load ? round(load.load15m) : null,
    network_recv_bytes_sec: round(sum(nics.map((n) => n.recvBytesPerSec)), 0),
    network_sent_bytes_sec: round(sum(nics.map((n) => n.sentBytesPerSec)), 0),
    disk_read_bytes_sec: round(sum(report.disks.map((d) => d.readBytesPerSec)), 0),
    disk_write_bytes_sec: round(sum(report.disks.map((d) => d.writeBytesPerSec)), 0),
    process_count: report.processCount,
    temperature_c: temperature === null ? null : round(temperature, 1),
    uptime_seconds: Math.round(report.uptimeSeconds),
  };
}
