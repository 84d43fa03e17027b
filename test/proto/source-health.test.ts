// What counts as failing among containers, services, disks and GPUs (shared by hub and dashboard).
import { describe, expect, it } from 'vitest';
import { containerLevel, diskHealthLevel, failingCount, gpuLevel, serviceLevel, sourceProblems } from '../../proto/source-health.ts';

describe('source health', () => {
  it.each([
    ['running', '', 'ok'],
    ['running', 'healthy', 'ok'],
    ['running', 'unhealthy', 'crit'],
    ['running', 'starting', 'warn'],
    ['exited', '', 'crit'],
    ['restarting', '', 'crit'],
    ['paused', '', 'warn'],
  ] as const)('container %s/%s is %s', (state, health, level) => expect(containerLevel(state, health)).toBe(level));

  it('services, disks and GPUs', () => {
    expect([serviceLevel('active'), serviceLevel('inactive'), serviceLevel('activating'), serviceLevel('failed')]).toEqual(['ok', 'ok', 'warn', 'crit']);
    expect([diskHealthLevel(true, 0, 0, 3), diskHealthLevel(true, 8, 0, 0), diskHealthLevel(true, 0, 0, 95), diskHealthLevel(false, 0, 0, 0)]).toEqual(['ok', 'warn', 'warn', 'crit']);
    expect([gpuLevel(false, 120), gpuLevel(true, 61), gpuLevel(true, 84), gpuLevel(true, 91)]).toEqual(['ok', 'ok', 'warn', 'crit']);
  });

  it('counts the problems of a report', () => {
    const p = sourceProblems({
      containers: [{ state: 'running', health: 'healthy' }, { state: 'running', health: 'unhealthy' }, { state: 'exited', health: '' }],
      services: [{ activeState: 'active' }, { activeState: 'failed' }],
      diskHealth: [{ passed: true }, { passed: false }],
      gpus: [{ hasTemperature: true, temperatureCelsius: 61 }, { hasTemperature: true, temperatureCelsius: 91.26 }, { hasTemperature: false, temperatureCelsius: 0 }],
    });
    expect(p).toEqual({ containers_failing: 2, services_failed: 1, disks_failing: 1, gpu_temperature_c: 91.3 });
    expect(failingCount(p)).toBe(5);
    expect(failingCount({ ...p, gpu_temperature_c: 80 })).toBe(4);
    expect(failingCount(undefined)).toBe(0);
    expect(sourceProblems({ containers: [], services: [], diskHealth: [], gpus: [] })).toEqual({ containers_failing: 0, services_failed: 0, disks_failing: 0, gpu_temperature_c: null });
  });
});
