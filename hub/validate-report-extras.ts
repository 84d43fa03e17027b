// Boundary checks for the report's container, process, GPU, disk-health and service sections: caps on
// counts and string lengths, control characters refused in every name, numbers finite and in range.
// Pure, never throws; called from validateReport (validate-report.ts) by one line.
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { hasControlCharacters } from './text-sanitizer.ts';

export const EXTRA_LIMITS = Object.freeze({
  nameLength: 256,
  /** TOP_PROCESSES is at most 100, by CPU and by memory. */
  topProcesses: 200,
  gpus: 64,
  diskHealth: 256,
  services: 1000,
  /** A short word: container state and health, process state, service states, GPU vendor. */
  stateLength: 32,
});

function badText(value: string, max: number): boolean {
  return value.length > max || hasControlCharacters(value);
}

function badNumber(value: number, max = Infinity): boolean {
  return !Number.isFinite(value) || value < 0 || value > max;
}

/** A percentage: within 0..100 with a little rounding slack. */
const PERCENT = 100.5;

export function validateReportExtras(report: Report): string | null {
  const n = EXTRA_LIMITS.nameLength;
  const s = EXTRA_LIMITS.stateLength;
  for (const c of report.containers) {
    if (badText(c.id, n) || badText(c.name, n) || badText(c.image, n) || badText(c.state, s) || badText(c.health, s)) return 'container names: too long or with control characters';
    if ([c.memoryLimitBytes, c.netRecvBytesPerSec, c.netSentBytesPerSec, c.blockReadBytesPerSec, c.blockWriteBytesPerSec].some((v) => badNumber(v))) return `container ${c.name.slice(0, 64)}: values out of range`;
    if (badNumber(c.memoryPercent, PERCENT)) return `container ${c.name.slice(0, 64)}: memory_percent must be within 0..100`;
  }
  if (report.topProcesses.length > EXTRA_LIMITS.topProcesses) return `at most ${EXTRA_LIMITS.topProcesses} top processes`;
  for (const p of report.topProcesses) {
    if (badText(p.name, n) || badText(p.user, n) || badText(p.state, s)) return 'process names: too long or with control characters';
    // CPU % is of one core: at most 100 per core.
    if (badNumber(p.cpuPercent, 100 * 4096 + 0.5) || badNumber(p.rssBytes)) return `process ${p.pid}: values out of range`;
  }
  if (report.gpus.length > EXTRA_LIMITS.gpus) return `at most ${EXTRA_LIMITS.gpus} GPUs`;
  for (const g of report.gpus) {
    if (badText(g.vendor, s) || badText(g.name, n)) return 'GPU names: too long or with control characters';
    if (badNumber(g.utilizationPercent, PERCENT) || badNumber(g.memoryUsedBytes) || badNumber(g.memoryTotalBytes) || badNumber(g.powerWatts)) return `GPU ${g.index}: values out of range`;
    if (!Number.isFinite(g.temperatureCelsius) || g.temperatureCelsius < -273.15 || g.temperatureCelsius > 1000) return `GPU ${g.index}: temperature out of range`;
  }
  if (report.diskHealth.length > EXTRA_LIMITS.diskHealth) return `at most ${EXTRA_LIMITS.diskHealth} disk health entries`;
  for (const d of report.diskHealth) {
    if (badText(d.device, n) || badText(d.model, n)) return 'disk health names: too long or with control characters';
    if ([d.powerOnHours, d.reallocatedSectors, d.pendingSectors].some((v) => badNumber(v)) || badNumber(d.percentageUsed, 255) || !Number.isFinite(d.temperatureCelsius) || d.temperatureCelsius < -273.15 || d.temperatureCelsius > 1000) {
      return `disk ${d.device.slice(0, 64)}: health values out of range`;
    }
  }
  if (report.services.length > EXTRA_LIMITS.services) return `at most ${EXTRA_LIMITS.services} services`;
  for (const v of report.services) {
    if (badText(v.name, n) || badText(v.activeState, s) || badText(v.subState, s)) return 'service names: too long or with control characters';
    if (badNumber(v.memoryBytes)) return `service ${v.name.slice(0, 64)}: memory out of range`;
  }
  return null;
}
