// Viewer frames within the frame limit (FleetPicture maxViewerFrameChars, durable-objects/fleet-picture.ts):
// a large snapshot in parts, a large delta as several complete deltas.
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, createFleetReader, decodeFleetMessage, type MachineView } from '../../proto/delta.ts';
import { createSnapshotAssembler } from '../../proto/view-frames.ts';
import { FleetPicture } from '../../durable-objects/fleet-picture.ts';
import { machine } from '../edge/edge-clients.ts';

describe('viewer frames within the frame limit', () => {
  const big = (n: number): MachineView[] => Array.from({ length: n }, (_, i) => machine(`m${i}`, { cpu_percent: i % 100 }, { name: `${'n'.repeat(250)}${i}`, lastSeen: 10 }));
  it('sends a large snapshot in parts and a large first delta as several complete deltas', () => {
    const f = new FleetPicture({ maxMachines: 2000, offlineAfterMs: 1000, maxViewerFrameChars: 50_000 });
    const early = createFleetReader();
    const earlyFleet = new Map<string, MachineView>();
    early.read(decodeFleetMessage(f.snapshotFrames()[0]));
    const out = f.ingest(createFleetEncoder().restart(big(1000), 10), 0);
    expect(out.frames.length).toBeGreaterThan(5);
    for (const text of out.frames) {
      expect(text.length).toBeLessThanOrEqual(50_000);
      const frame = early.read(decodeFleetMessage(text, 2000));
      if (frame.t === 'd') for (const [id] of frame.updates) earlyFleet.set(id, f.viewOf(id)!);
    }
    expect(earlyFleet.size).toBe(1000);
    const parts = f.snapshotFrames();
    expect(parts.length).toBeGreaterThan(5);
    const assembler = createSnapshotAssembler(2000);
    let whole = null;
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(50_000);
      whole = assembler.add(p);
    }
    expect(whole?.m).toHaveLength(1000);
    expect(out.uptimeChanged).toBe(true);
    expect(f.uptime.size).toBe(1000);
  });
});
