// The synthetic fleet the live-format benchmarks start from: machine i with plausible values drawn
// from a seeded generator, so every run encodes the same content.
import { liveValues, type MachineView } from '../proto/delta.ts';

/** A deterministic generator of numbers in [0, 1]. */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

export function syntheticMachine(i: number, lastSeenMs: number, random: () => number, cpuMax = 100): MachineView {
  return {
    id: `web-${String(i).padStart(4, '0')}.prod.example`,
    name: `web-${i}`,
    host: `web-${i}.prod.example`,
    status: 'healthy',
    labels: { env: i % 4 === 0 ? 'prod' : 'staging', rack: `r${i % 20}` },
    intervalMs: 1000,
    lastSeen: lastSeenMs,
    values: liveValues({
      cpu_percent: random() * cpuMax,
      memory_percent: 30 + random() * 40,
      disk_percent: 20 + random() * 60,
      load_avg_1m: random() * 4,
      load_avg_5m: random() * 4,
      load_avg_15m: random() * 4,
      network_recv_bytes_sec: random() * 1e6,
      network_sent_bytes_sec: random() * 1e6,
      disk_read_bytes_sec: random() * 1e5,
      disk_write_bytes_sec: random() * 1e5,
      swap_percent: 0,
      uptime_seconds: 86_400 + i,
      process_count: 150 + (i % 50),
    }),
  };
}
