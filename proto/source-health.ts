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
