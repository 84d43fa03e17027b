// Machine health colour from headline metrics: the thresholds users of the original dashboard know.
// Pure; the hub, the relay and the dashboard all call this one function.
import type { Metrics } from './metrics.ts';

export const MACHINE_STATUSES = ['healthy', 'warning', 'critical', 'offline'] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

export interface Thresholds {
  readonly warning: number;
  readonly critical: number;
}

export const STATUS_THRESHOLDS = {
  cpu_percent: { warning: 80, critical: 95 },
  memory_percent: { warning: 85, critical: 95 },
  disk_percent: { warning: 80, critical: 90 },
} as const satisfies Record<string, Thresholds>;

/** A machine is offline when nothing arrived for this many intervals (and at least this long). */
export const OFFLINE_AFTER_INTERVALS = 5;
export const OFFLINE_AFTER_MIN_MS = 10_000;

export function offlineAfterMs(intervalMs: number): number {
  return Math.max(OFFLINE_AFTER_MIN_MS, OFFLINE_AFTER_INTERVALS * intervalMs);
}

export function machineStatus(
  metrics: Partial<Metrics>,
  lastSeenMs: number,
  intervalMs: number,
  nowMs: number,
): MachineStatus {
  if (nowMs - lastSeenMs > offlineAfterMs(intervalMs)) return 'offline';
  let status: MachineStatus = 'healthy';
  for (const [name, limits] of Object.entries(STATUS_THRESHOLDS)) {
    const value = metrics[name as keyof typeof STATUS_THRESHOLDS];
    if (value === null || value === undefined) continue;
    if (value > limits.critical) return 'critical';
    if (value > limits.warning) status = 'warning';
  }
  return status;
}

/**
 * Status when alert rules exist: offline as above, otherwise the worst severity among the machine's
 * firing alerts (critical > warning), otherwise healthy. The thresholds of machineStatus() are the
 * fallback when no rule is configured at all.
 */
export function statusFromAlerts(
  lastSeenMs: number,
  intervalMs: number,
  nowMs: number,
  worstFiring: 'warning' | 'critical' | undefined,
): MachineStatus {
  if (nowMs - lastSeenMs > offlineAfterMs(intervalMs)) return 'offline';
  return worstFiring ?? 'healthy';
}
