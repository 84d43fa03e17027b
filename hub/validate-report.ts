// Boundary checks for what a collector sends: ids, strings, counts, numbers and timestamps. Pure:
// returns the reason a report is refused, or null when it is acceptable. Never throws (a fuzz test in
// test/bad-input/ holds it to that). Names and labels are free text (HTML in them is escaped where it
// is shown), but control characters are refused (text-sanitizer.ts): they have no place in a name and
// can forge log lines or terminal output.
//
// Every number has a physical range (RANGES): a value outside it is not a measurement but an attack
// or a bug, and one such value (1e308 bytes) would overflow the sums behind the 1 min / 1 h rollups.
// The bounds are generous (an exabyte of memory, a petabyte per second) and their sums over any
// bucket stay far below the double range.
import type { Hello } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { MACHINE_ID_PATTERN, MACHINE_ID_RULE } from '../proto/machine-id.ts';
import { hasControlCharacters } from './text-sanitizer.ts';
import { validateReportExtras } from './validate-report-extras.ts';

export { MACHINE_ID_PATTERN };
export const LIMITS = Object.freeze({
  nameLength: 256,
  labels: 32,
  labelLength: 256,
  cores: 4096,
  filesystems: 256,
  disks: 256,
  interfaces: 256,
  temperatures: 256,
  containers: 1000,
  /** Reports older than this are refused (the collector buffers at most about a day). */
  maxAgeMs: 8 * 24 * 3600_000,
  /** Collector clocks may run ahead a little; more than this is refused. */
  maxFutureMs: 5 * 60_000,
  maxMessageBytes: 1024 * 1024,
  /** The collector samples at most every hour. */
  maxIntervalMs: 3_600_000,
  /**
   * The highest seq accepted (2^52): a seq right below 2^53 would leave the collector no room to
   * continue (its spool and the hub keep seqs as exact integers below 2^53).
   */
  maxSeq: 2 ** 52,
  /** A report may be at most this far ahead of the highest seq the hub holds for its machine
   * (31 years of reports at 1 s): a larger jump is not a collector continuing, it is seq poisoning. */
  seqWindow: 1_000_000_000,
});

/** [min, max] of every kind of number in a report, inclusive. */
export const RANGES = Object.freeze({
  /** Percentages, with a little rounding slack. */
  percent: [0, 100.5],
  /** Sizes (memory, swap, filesystems, container memory): up to 1 EiB. */
  bytes: [0, 2 ** 60],
  /** Throughput: up to 1 PiB/s per device or interface. */
  bytesPerSec: [0, 2 ** 50],
  /** Interface byte counters since boot (64-bit counters). */
  bytesTotal: [0, 2 ** 64],
  /** Operations and errors per second. */
  perSec: [0, 1e9],
  /** Load averages (runnable tasks). */
  load: [0, 1e6],
  /** Uptime: up to about 300 years. */
  uptimeSeconds: [0, 1e10],
  celsius: [-273.15, 1000],
  processCount: [0, 1e8],
  /** A container's CPU use can exceed 100 % (several cores): up to 100 % of every core. */
  containerCpuPercent: [0, 100 * 4096],
} satisfies Record<string, readonly [number, number]>);
type RangeName = keyof typeof RANGES;

function outOfRange(value: number, range: RangeName): boolean {
  const [min, max] = RANGES[range];
  return !(value >= min && value <= max); // NaN fails both
}

/** The reason for the first of `fields` outside `range`, or null. */
function checkFields(what: string, range: RangeName, fields: Record<string, number>): string | null {
  // for…in, not Object.entries: this runs for every group of numbers of every report.
  for (const name in fields) {
    const value = fields[name];
    if (outOfRange(value, range)) {
      const [min, max] = RANGES[range];
      return `${what}${name} must be within ${min}..${max}, got ${value}`;
    }
  }
  return null;
}

const named = (kind: string, name: string) => `${kind} ${JSON.stringify(name.slice(0, 64))}: `;

function checkLabels(labels: Record<string, string>): string | null {
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.labels) return `at most ${LIMITS.labels} labels`;
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > LIMITS.labelLength) return `label key must be 1..${LIMITS.labelLength} characters`;
    if (v.length > LIMITS.labelLength) return `label ${k.slice(0, 64)} is longer than ${LIMITS.labelLength} characters`;
    if (hasControlCharacters(k) || hasControlCharacters(v)) return 'labels must not contain control characters';
  }
  return null;
}

export function validateHello(hello: Hello): string | null {
  if (!MACHINE_ID_PATTERN.test(hello.machineId)) return `machine_id ${MACHINE_ID_RULE}`;
  if (hello.hostname.length > LIMITS.nameLength) return `hostname longer than ${LIMITS.nameLength} characters`;
  if (hello.displayName.length > LIMITS.nameLength) return `display_name longer than ${LIMITS.nameLength} characters`;
  if (hasControlCharacters(hello.hostname) || hasControlCharacters(hello.displayName)) return 'names must not contain control characters';
  return checkLabels(hello.labels);
}

export interface ReportCheckOptions {
  /** Reports older than this are refused (default LIMITS.maxAgeMs; the hub passes min(that, raw retention)). */
  maxAgeMs?: number;
}

function checkCpu(cpu: NonNullable<Report['cpu']>): string | null {
  const problem = checkFields('cpu.', 'percent', {
    total_percent: cpu.totalPercent,
    user_percent: cpu.userPercent,
    system_percent: cpu.systemPercent,
    iowait_percent: cpu.iowaitPercent,
    steal_percent: cpu.stealPercent,
  });
  if (problem) return problem;
  if (cpu.perCorePercent.length > LIMITS.cores || cpu.coreCount > LIMITS.cores) return `at most ${LIMITS.cores} cores`;
  if (cpu.perCorePercent.some((v) => outOfRange(v, 'percent'))) return 'per-core cpu percentages must be within 0..100';
  return null;
}

function checkMemory(m: NonNullable<Report['memory']>): string | null {
  return (
    checkFields('memory.', 'bytes', { total_bytes: m.totalBytes, used_bytes: m.usedBytes, available_bytes: m.availableBytes, swap_total_bytes: m.swapTotalBytes, swap_used_bytes: m.swapUsedBytes }) ??
    checkFields('memory.', 'percent', { used_percent: m.usedPercent, swap_percent: m.swapPercent })
  );
}

function checkNames(what: string, names: Record<string, string>): string | null {
  for (const field in names) {
    const value = names[field];
    if (value.length > LIMITS.nameLength) return `${what}${field} longer than ${LIMITS.nameLength} characters`;
    if (hasControlCharacters(value)) return `${what}${field} must not contain control characters`;
  }
  return null;
}

function checkFilesystems(list: Report['filesystems']): string | null {
  if (list.length > LIMITS.filesystems) return `at most ${LIMITS.filesystems} filesystems`;
  for (const fs of list) {
    const what = named('filesystem', fs.mount);
    const problem =
      checkNames(what, { mount: fs.mount, device: fs.device, fs_type: fs.fsType }) ??
      checkFields(what, 'bytes', { size_bytes: fs.sizeBytes, used_bytes: fs.usedBytes }) ??
      checkFields(what, 'percent', { used_percent: fs.usedPercent });
    if (problem) return problem;
  }
  return null;
}

function checkDisks(list: Report['disks']): string | null {
  if (list.length > LIMITS.disks) return `at most ${LIMITS.disks} disks`;
  for (const d of list) {
    const what = named('disk', d.device);
    const problem =
      checkNames(what, { device: d.device }) ??
      checkFields(what, 'bytesPerSec', { read_bytes_per_sec: d.readBytesPerSec, write_bytes_per_sec: d.writeBytesPerSec }) ??
      checkFields(what, 'perSec', { read_ops_per_sec: d.readOpsPerSec, write_ops_per_sec: d.writeOpsPerSec });
    if (problem) return problem;
  }
  return null;
}

function checkNetwork(list: Report['network']): string | null {
  if (list.length > LIMITS.interfaces) return `at most ${LIMITS.interfaces} network interfaces`;
  for (const n of list) {
    const what = named('interface', n.name);
    const problem =
      checkNames(what, { name: n.name }) ??
      checkFields(what, 'bytesPerSec', { recv_bytes_per_sec: n.recvBytesPerSec, sent_bytes_per_sec: n.sentBytesPerSec }) ??
      checkFields(what, 'bytesTotal', { recv_bytes_total: n.recvBytesTotal, sent_bytes_total: n.sentBytesTotal }) ??
      checkFields(what, 'perSec', { recv_errors_per_sec: n.recvErrorsPerSec, sent_errors_per_sec: n.sentErrorsPerSec });
    if (problem) return problem;
  }
  return null;
}

function checkTemperatures(list: Report['temperatures']): string | null {
  if (list.length > LIMITS.temperatures) return `at most ${LIMITS.temperatures} temperatures`;
  for (const t of list) {
    const what = named('temperature', t.sensor);
    const problem = checkNames(what, { sensor: t.sensor }) ?? checkFields(what, 'celsius', { celsius: t.celsius });
    if (problem) return problem;
  }
  return null;
}

function checkContainers(list: Report['containers']): string | null {
  if (list.length > LIMITS.containers) return `at most ${LIMITS.containers} containers`;
  for (const c of list) {
    const what = named('container', c.name);
    const problem =
      checkNames(what, { id: c.id, name: c.name, state: c.state }) ??
      checkFields(what, 'containerCpuPercent', { cpu_percent: c.cpuPercent }) ??
      checkFields(what, 'bytes', { memory_bytes: c.memoryBytes }) ??
      checkFields(what, 'percent', { memory_percent: c.memoryPercent });
    if (problem) return problem;
  }
  return null;
}

export function validateReport(report: Report, nowMs: number, options: ReportCheckOptions = {}): string | null {
  if (!MACHINE_ID_PATTERN.test(report.machineId)) return `machine_id ${MACHINE_ID_RULE}`;
  if (report.seq < 1n || report.seq > BigInt(LIMITS.maxSeq)) return `seq must be a positive integer of at most 2^52 (${LIMITS.maxSeq})`;
  const timestampMs = Number(report.timestampMs);
  const maxAgeMs = Math.min(options.maxAgeMs ?? LIMITS.maxAgeMs, LIMITS.maxAgeMs);
  if (!(timestampMs >= nowMs - maxAgeMs)) return `timestamp_ms is missing or too far in the past (more than ${Math.round(maxAgeMs / 3_600_000)} h: the raw history retention)`;
  if (timestampMs > nowMs + LIMITS.maxFutureMs) return 'timestamp_ms is in the future (check the collector clock)';
  if (report.hostname.length > LIMITS.nameLength || report.displayName.length > LIMITS.nameLength) return `names are limited to ${LIMITS.nameLength} characters`;
  if (hasControlCharacters(report.hostname) || hasControlCharacters(report.displayName)) return 'names must not contain control characters';
  if (report.intervalMs > LIMITS.maxIntervalMs) return `interval_ms must be at most ${LIMITS.maxIntervalMs}`;
  return (
    checkLabels(report.labels) ??
    (report.cpu ? checkCpu(report.cpu) : null) ??
    (report.memory ? checkMemory(report.memory) : null) ??
    (report.load ? checkFields('load.', 'load', { load_1m: report.load.load1m, load_5m: report.load.load5m, load_15m: report.load.load15m }) : null) ??
    checkFilesystems(report.filesystems) ??
    checkDisks(report.disks) ??
    checkNetwork(report.network) ??
    checkTemperatures(report.temperatures) ??
    checkContainers(report.containers) ??
    checkFields('', 'processCount', { process_count: report.processCount }) ??
    checkFields('', 'uptimeSeconds', { uptime_seconds: report.uptimeSeconds }) ??
    validateReportExtras(report)
  );
}
