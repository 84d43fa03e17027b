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

// ---- silence: the one rule for "offline" ---------------------------------------------------------
// Used by the hub (machine status, the alert-driven status, the offline alert metric), the relay (a
// machine it heard nothing about) and the dashboard (stale, then offline).

/** The collector's default report interval; what a machine that did not say otherwise reports at. */
export const DEFAULT_INTERVAL_MS = 1_000;

/** `intervalMs` when it is a usable interval, DEFAULT_INTERVAL_MS otherwise (0, negative, not a number). */
export function intervalOrDefault(intervalMs: number): number {
  return Number.isFinite(intervalMs) && intervalMs > 0 ? intervalMs : DEFAULT_INTERVAL_MS;
}

/** A machine is offline when nothing arrived for this many intervals (and at least this long). */
export const OFFLINE_AFTER_INTERVALS = 5;
export const OFFLINE_AFTER_MIN_MS = 10_000;

export function offlineAfterMs(intervalMs: number): number {
  return Math.max(OFFLINE_AFTER_MIN_MS, OFFLINE_AFTER_INTERVALS * intervalMs);
}

/** Before that the dashboard shows a machine's numbers as stale: this many intervals (at least this long). */
export const STALE_AFTER_INTERVALS = 3;
export const STALE_AFTER_MIN_MS = 3_000;

export function staleAfterMs(intervalMs: number): number {
  return Math.max(STALE_AFTER_MIN_MS, STALE_AFTER_INTERVALS * intervalOrDefault(intervalMs));
}

export type Silence = 'live' | 'stale' | 'offline';

/** How long a silence since `lastSeenMs` is, for a machine reporting every `intervalMs`. */
export function silence(lastSeenMs: number, intervalMs: number, nowMs: number): Silence {
  const silentMs = nowMs - lastSeenMs;
  if (silentMs > offlineAfterMs(intervalMs)) return 'offline';
  return silentMs > staleAfterMs(intervalMs) ? 'stale' : 'live';
}

export function isOffline(lastSeenMs: number, intervalMs: number, nowMs: number): boolean {
  return nowMs - lastSeenMs > offlineAfterMs(intervalMs);
}

/** Seconds without a report: the value of the `offline` alert metric. */
export function silentForSeconds(lastSeenMs: number, nowMs: number): number {
  return Math.max(0, (nowMs - lastSeenMs) / 1000);
}

export function machineStatus(
  metrics: Partial<Metrics>,
  lastSeenMs: number,
  intervalMs: number,
  nowMs: number,
): MachineStatus {
  if (isOffline(lastSeenMs, intervalMs, nowMs)) return 'offline';
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
  if (isOffline(lastSeenMs, intervalMs, nowMs)) return 'offline';
  return worstFiring ?? 'healthy';
}
