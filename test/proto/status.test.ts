import { describe, expect, test } from 'vitest';
import { machineStatus, offlineAfterMs } from '../../proto/status.ts';

describe('machineStatus', () => {
  const now = 1_000_000;
  test.each([
    [{ cpu_percent: 10, memory_percent: 10, disk_percent: 10 }, 'healthy'],
    [{ cpu_percent: 80, memory_percent: 85, disk_percent: 80 }, 'healthy'],
    [{ cpu_percent: 80.1 }, 'warning'],
    [{ memory_percent: 85.5 }, 'warning'],
    [{ disk_percent: 81 }, 'warning'],
    [{ cpu_percent: 95.1 }, 'critical'],
    [{ memory_percent: 96, cpu_percent: 81 }, 'critical'],
    [{ disk_percent: 90.5 }, 'critical'],
    [{ cpu_percent: null, disk_percent: null }, 'healthy'],
  ] as const)('%o → %s', (metrics, expected) => {
    expect(machineStatus(metrics, now, 1000, now)).toBe(expected);
  });

  test('offline after five intervals and at least 10 s of silence', () => {
    expect(offlineAfterMs(1000)).toBe(10_000);
    expect(offlineAfterMs(5000)).toBe(25_000);
    expect(machineStatus({ cpu_percent: 99 }, now - 10_000, 1000, now)).toBe('critical');
    expect(machineStatus({ cpu_percent: 99 }, now - 10_001, 1000, now)).toBe('offline');
  });
});
