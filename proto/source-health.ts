// What counts as failing among a machine's containers, services, disks and GPUs: one pure module used
// by the hub (alert metrics, the fleet card's badge) and the dashboard (the colour of each row), so the
// two never disagree.

export type SourceLevel = 'ok' | 'warn' | 'crit';

/** A container that exited, died or restarts is critical; an unhealthy one too; starting or paused warns. */
export function containerLevel(state: string, health: string): SourceLevel {
  if (health === 'unhealthy' || state === 'exited' || state === 'dead' || state === 'restarting') return 'crit';
  if (health === 'starting' || state === 'paused' || state === 'created' || state === 'removing') return 'warn';
  return 'ok';
}

/** A failed unit is critical; one between states warns; active and (deliberately) inactive are fine. */
export function serviceLevel(activeState: string): SourceLevel {
  if (activeState === 'failed') return 'crit';
  if (activeState === 'activating' || activeState === 'deactivating' || activeState === 'reloading') return 'warn';
  return 'ok';
}

/** SMART: a failed self-assessment is critical; reallocated or pending sectors, or a worn-out NVMe (≥ 90 %), warn. */
export function diskHealthLevel(passed: boolean, reallocatedSectors: number, pendingSectors: number, percentageUsed: number): SourceLevel {
  if (!passed) return 'crit';
  if (reallocatedSectors > 0 || pendingSectors > 0 || percentageUsed >= 90) return 'warn';
  return 'ok';
}

/** GPU temperature levels (°C): most cards throttle from about 85. */
export const GPU_TEMPERATURE_LEVELS = { warning: 80, critical: 90 } as const;

export function gpuLevel(hasTemperature: boolean, celsius: number): SourceLevel {
  if (!hasTemperature) return 'ok';
  if (celsius >= GPU_TEMPERATURE_LEVELS.critical) return 'crit';
  if (celsius >= GPU_TEMPERATURE_LEVELS.warning) return 'warn';
  return 'ok';
}

/** What alert rules and the fleet card read of a machine's sources (kept on the hub's machine record). */
export interface SourceProblems {
  /** Containers exited, dead, restarting or unhealthy. */
  containers_failing: number;
  /** systemd units in the failed state. */
  services_failed: number;
  /** Disks whose SMART self-assessment failed. */
  disks_failing: number;
  /** The hottest GPU; null without a GPU temperature. */
  gpu_temperature_c: number | null;
}

export const SOURCE_ALERT_METRICS = ['containers_failing', 'services_failed', 'disks_failing', 'gpu_temperature_c'] as const;
export type SourceAlertMetric = (typeof SOURCE_ALERT_METRICS)[number];

const sourceMetricSet: ReadonlySet<string> = new Set(SOURCE_ALERT_METRICS);
export function isSourceAlertMetric(name: string): name is SourceAlertMetric {
  return sourceMetricSet.has(name);
}

/** The report's parts this reads (proto field names as protobuf-es spells them). */
export interface SourceSections {
  containers: ReadonlyArray<{ state: string; health: string }>;
  services: ReadonlyArray<{ activeState: string }>;
  diskHealth: ReadonlyArray<{ passed: boolean }>;
  gpus: ReadonlyArray<{ hasTemperature: boolean; temperatureCelsius: number }>;
}

export function sourceProblems(report: SourceSections): SourceProblems {
  let gpuMax: number | null = null;
  for (const g of report.gpus) if (g.hasTemperature && (gpuMax === null || g.temperatureCelsius > gpuMax)) gpuMax = g.temperatureCelsius;
  return {
    containers_failing: report.containers.filter((c) => containerLevel(c.state, c.health) === 'crit').length,
    services_failed: report.services.filter((s) => serviceLevel(s.activeState) === 'crit').length,
    disks_failing: report.diskHealth.filter((d) => !d.passed).length,
    gpu_temperature_c: gpuMax === null ? null : Math.round(gpuMax * 10) / 10,
  };
}

/** How many things are failing (the fleet card's badge); a GPU counts when at its critical temperature. */
export function failingCount(p: SourceProblems | undefined): number {
  if (!p) return 0;
  const hotGpu = p.gpu_temperature_c !== null && p.gpu_temperature_c >= GPU_TEMPERATURE_LEVELS.critical ? 1 : 0;
  return p.containers_failing + p.services_failed + p.disks_failing + hotGpu;
}
