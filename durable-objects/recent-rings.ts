// A short ring of recent live values per machine, kept by the relay in memory only, so a public viewer
// opening a machine view sees its last minute or so at once instead of an empty chart that fills up.
// Compact on purpose (a relay may hold 10,000 machines in 128 MB): times as float64, values as float32
// (7 significant digits: plenty for a chart), NaN for "no value". A ring is allocated on a machine's
// first point. Pure: no Workers APIs, no clock.
import { LIVE_METRICS, type LiveMetric, type MachineView } from '../proto/delta.ts';

export interface RecentPoint {
  t: number;
  metrics: Partial<Record<LiveMetric, number>>;
}

interface Ring {
  times: Float64Array;
  values: Float32Array;
  /** Index of the next write. */
  next: number;
  size: number;
}

const WIDTH = LIVE_METRICS.length;

/** Bytes one machine's ring takes at `capacity` points (for the memory note in the docs). */
export function recentRingBytes(capacity: number): number {
  return capacity * (8 + 4 * WIDTH);
}

export class RecentRings {
  readonly capacity: number;
  private readonly rings = new Map<string, Ring>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`recent ring capacity must be a non-negative integer (got ${capacity})`);
    this.capacity = capacity;
  }

  /** Appends the machine's current values at its lastSeen; ignored unless newer than the ring's last point. */
  record(machine: MachineView): void {
    if (this.capacity === 0) return;
    let ring = this.rings.get(machine.id);
    if (!ring) {
      ring = { times: new Float64Array(this.capacity), values: new Float32Array(this.capacity * WIDTH), next: 0, size: 0 };
      this.rings.set(machine.id, ring);
    } else if (ring.size > 0) {
      const last = ring.times[(ring.next - 1 + this.capacity) % this.capacity];
      if (!(machine.lastSeen > last)) return;
    }
    ring.times[ring.next] = machine.lastSeen;
    const base = ring.next * WIDTH;
    for (let i = 0; i < WIDTH; i++) ring.values[base + i] = machine.values[LIVE_METRICS[i]] ?? Number.NaN;
    ring.next = (ring.next + 1) % this.capacity;
    ring.size = Math.min(ring.size + 1, this.capacity);
  }

  /** The newest `limit` points of a machine, oldest first; undefined when the relay has none for it. */
  points(id: string, limit = this.capacity): RecentPoint[] | undefined {
    const ring = this.rings.get(id);
    if (!ring) return undefined;
    const n = Math.max(0, Math.min(limit, ring.size));
    const out: RecentPoint[] = [];
    for (let k = n; k >= 1; k--) {
      const slot = (ring.next - k + this.capacity) % this.capacity;
      const metrics: Partial<Record<LiveMetric, number>> = {};
      const base = slot * WIDTH;
      for (let i = 0; i < WIDTH; i++) {
        const v = ring.values[base + i];
        if (!Number.isNaN(v)) metrics[LIVE_METRICS[i]] = Number(v.toPrecision(7));
      }
      out.push({ t: ring.times[slot], metrics });
    }
    return out;
  }

  delete(id: string): void {
    this.rings.delete(id);
  }

  clear(): void {
    this.rings.clear();
  }

  get machines(): number {
    return this.rings.size;
  }
}
