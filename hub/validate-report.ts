// Boundary checks for what a collector sends: ids, strings, counts, numbers and timestamps. Pure:
// returns the reason a report is refused, or null when it is acceptable. Never throws (a fuzz test in
// test/bad-input/ holds it to that). Names and labels are free text (HTML in them is escaped where it
// is shown), but control characters are refused: they have no place in a name and can forge log
// lines or terminal output.
import type { Hello } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { validateReportExtras } from './validate-report-extras.ts';

export const MACHINE_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
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
});

/** C0 and C1 control characters (NUL, newline, escape ...). */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function checkLabels(labels: Record<string, string>): string | null {
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.labels) return `at most ${LIMITS.labels} labels`;
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > LIMITS.labelLength) return `label key must be 1..${LIMITS.labelLength} characters`;
    if (v.length > LIMITS.labelLength) return `label ${k.slice(0, 64)} is longer than ${LIMITS.labelLength} characters`;
    if (CONTROL_CHARACTERS.test(k) || CONTROL_CHARACTERS.test(v)) return 'labels must not contain control characters';
  }
  return null;
}

export function validateHello(hello: Hello): string | null {
  if (!MACHINE_ID_PATTERN.test(hello.machineId)) return 'machine_id must match [A-Za-z0-9._-]{1,128}';
  if (hello.hostname.length > LIMITS.nameLength) return `hostname longer than ${LIMITS.nameLength} characters`;
  if (hello.displayName.length > LIMITS.nameLength) return `display_name longer than ${LIMITS.nameLength} characters`;
  if (CONTROL_CHARACTERS.test(hello.hostname) || CONTROL_CHARACTERS.test(hello.displayName)) return 'names must not contain control characters';
  return checkLabels(hello.labels);
}

/** Non-negative finite number; percentages additionally at most 100 (with a little rounding slack). */
function badNumber(value: number, percent = false): boolean {
  return !Number.isFinite(value) || value < 0 || (percent && value > 100.5);
}

export function validateReport(report: Report, nowMs: number): string | null {
  if (!MACHINE_ID_PATTERN.test(report.machineId)) return 'machine_id must match [A-Za-z0-9._-]{1,128}';
  if (report.seq < 1n || report.seq > BigInt(Number.MAX_SAFE_INTEGER)) return 'seq must be a positive integer below 2^53';
  const timestampMs = Number(report.timestampMs);
  if (timestampMs < nowMs - LIMITS.maxAgeMs) return 'timestamp_ms is missing or too far in the past';
  if (timestampMs > nowMs + LIMITS.maxFutureMs) return 'timestamp_ms is in the future (check the collector clock)';
  if (report.hostname.length > LIMITS.nameLength || report.displayName.length > LIMITS.nameLength) return `names are limited to ${LIMITS.nameLength} characters`;
  if (CONTROL_CHARACTERS.test(report.hostname) || CONTROL_CHARACTERS.test(report.displayName)) return 'names must not contain control characters';
  if (report.intervalMs > LIMITS.maxIntervalMs) return `interval_ms must be at most ${LIMITS.maxIntervalMs}`;
  const labelProblem = checkLabels(report.labels);
  if (labelProblem) return labelProblem;
  const { cpu, memory, load } = report;
  if (cpu) {
    if ([cpu.totalPercent, cpu.userPercent, cpu.systemPercent, cpu.iowaitPercent, cpu.stealPercent].some((v) => badNumber(v, true))) return 'cpu percentages must be within 0..100';
    if (cpu.perCorePercent.length > LIMITS.cores || cpu.coreCount > LIMITS.cores) return `at most ${LIMITS.cores} cores`;
    if (cpu.perCorePercent.some((v) => badNumber(v, true))) return 'per-core cpu percentages must be within 0..100';
  }
  if (memory) {
    if ([memory.totalBytes, memory.usedBytes, memory.availableBytes, memory.swapTotalBytes, memory.swapUsedBytes].some((v) => badNumber(v))) return 'memory values must be finite and non-negative';
    if (badNumber(memory.usedPercent, true) || badNumber(memory.swapPercent, true)) return 'memory percentages must be within 0..100';
  }
  if (load && [load.load1m, load.load5m, load.load15m].some((v) => badNumber(v))) return 'load averages must be finite and non-negative';
  if (report.filesystems.length > LIMITS.filesystems) return `at most ${LIMITS.filesystems} filesystems`;
  for (const fs of report.filesystems) {
    if (fs.mount.length > LIMITS.nameLength || fs.device.length > LIMITS.nameLength || fs.fsType.length > LIMITS.nameLength) return 'filesystem names too long';
    if (badNumber(fs.sizeBytes) || badNumber(fs.usedBytes) || badNumber(fs.usedPercent, true)) return `filesystem ${fs.mount}: values out of range`;
  }
  if (report.disks.length > LIMITS.disks) return `at most ${LIMITS.disks} disks`;
  for (const d of report.disks) {
    if (d.device.length > LIMITS.nameLength) return 'disk device name too long';
    if ([d.readBytesPerSec, d.writeBytesPerSec, d.readOpsPerSec, d.writeOpsPerSec].some((v) => badNumber(v))) return `disk ${d.device}: rates must be finite and non-negative`;
  }
  if (report.network.length > LIMITS.interfaces) return `at most ${LIMITS.interfaces} network interfaces`;
  for (const n of report.network) {
    if (n.name.length > LIMITS.nameLength) return 'interface name too long';
    if ([n.recvBytesPerSec, n.sentBytesPerSec, n.recvBytesTotal, n.sentBytesTotal, n.recvErrorsPerSec, n.sentErrorsPerSec].some((v) => badNumber(v))) return `interface ${n.name}: values must be finite and non-negative`;
  }
  if (report.temperatures.length > LIMITS.temperatures) return `at most ${LIMITS.temperatures} temperatures`;
  for (const t of report.temperatures) {
    if (t.sensor.length > LIMITS.nameLength || !Number.isFinite(t.celsius) || t.celsius < -273.15 || t.celsius > 1000) return `temperature ${t.sensor.slice(0, 64)}: out of range`;
  }
  if (report.containers.length > LIMITS.containers) return `at most ${LIMITS.containers} containers`;
  for (const c of report.containers) {
    if (c.id.length > LIMITS.nameLength || c.name.length > LIMITS.nameLength || c.state.length > LIMITS.nameLength) return 'container names too long';
    if (badNumber(c.cpuPercent) || badNumber(c.memoryBytes) || badNumber(c.memoryPercent)) return `container ${c.name.slice(0, 64)}: values out of range`;
  }
  if (badNumber(report.uptimeSeconds)) return 'uptime_seconds must be finite and non-negative';
  return validateReportExtras(report);
}
