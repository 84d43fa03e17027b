// The recent points kept per machine for new viewers' charts (durable-objects/recent-rings.ts).
import { describe, expect, it } from 'vitest';
import { RecentRings, recentRingBytes } from '../../durable-objects/recent-rings.ts';
import { machine } from '../edge/edge-clients.ts';

describe('recent rings', () => {
  it('keeps the newest points per machine, oldest first, only when lastSeen moves forward', () => {
    const rings = new RecentRings(3);
    for (const [t, cpu] of [[10, 1], [20, 2], [20, 99], [15, 98], [30, 3.3], [40, 4]] as const) rings.record(machine('a', { cpu_percent: cpu, memory_percent: 50 }, { lastSeen: t }));
    expect(rings.points('a')).toEqual([
      { t: 20, metrics: { cpu_percent: 2, memory_percent: 50 } },
      { t: 30, metrics: { cpu_percent: 3.3, memory_percent: 50 } },
      { t: 40, metrics: { cpu_percent: 4, memory_percent: 50 } },
    ]);
    expect(rings.points('a', 1)).toEqual([{ t: 40, metrics: { cpu_percent: 4, memory_percent: 50 } }]);
    expect(rings.points('b')).toBeUndefined();
    rings.delete('a');
    expect(rings.points('a')).toBeUndefined();
  });
  it('keeps nothing at capacity 0 and states its memory cost', () => {
    const rings = new RecentRings(0);
    rings.record(machine('a', { cpu_percent: 1 }, { lastSeen: 1 }));
    expect(rings.machines).toBe(0);
    expect(recentRingBytes(60)).toBeLessThan(4096);
    expect(() => new RecentRings(-1)).toThrow(/non-negative/);
  });
});
