// The relay's per-viewer byte allowance (FleetPicture viewerCharsPerSecond, VIEWER_BYTES_PER_S): pushes
// whose deltas do not fit are merged, per machine, into one later frame; the viewer ends up with the
// same fleet, and the bytes per second stay near the allowance. Small deltas go out at once.
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, type WireUpdate } from '../../proto/delta.ts';
import { FleetPicture } from '../../durable-objects/fleet-picture.ts';
import { FleetMirror, machine } from '../edge/edge-clients.ts';

const T0 = 1_700_000_000_000;

function setup(rate: number, machines: number) {
  const relay = new FleetPicture({ maxMachines: 10_000, offlineAfterMs: 60_000, viewerCharsPerSecond: rate });
  const hub = createFleetEncoder();
  const ids = Array.from({ length: machines }, (_, i) => `m${i}`);
  relay.ingest(hub.restart(ids.map((id) => machine(id, { cpu_percent: 0 }, { lastSeen: T0 })), T0), T0);
  const viewer = new FleetMirror();
  viewer.apply(relay.snapshotText());
  return { relay, hub, ids, viewer };
}

const push = (hub: ReturnType<typeof createFleetEncoder>, ids: string[], second: number, value: (i: number) => number) =>
  hub.delta(ids.map((id, i) => [id, 0, { 0: value(i) }] as WireUpdate), [], T0 + second * 1000);

describe('the byte allowance', () => {
  it('merges pushes that do not fit into one frame per allowance, and the viewer holds the latest fleet', () => {
    const { relay, hub, ids, viewer } = setup(10_000, 1000);
    const frames: Array<{ second: number; chars: number }> = [];
    for (let s = 1; s <= 30; s++) {
      for (const f of relay.ingest(push(hub, ids, s, (i) => (i + s) % 100), T0 + s * 1000).frames) {
        frames.push({ second: s, chars: f.length });
        viewer.apply(f);
      }
    }
    for (const f of relay.flushPending()) viewer.apply(f);
    // Every machine shows the value of the last push.
    for (const [i, id] of ids.entries()) expect(viewer.get(id)?.values.cpu_percent, id).toBe((i + 30) % 100);
    const total = frames.reduce((n, f) => n + f.chars, 0);
    expect(frames.length).toBeLessThan(20); // fewer frames than pushes
    expect(frames.length).toBeGreaterThan(5);
    expect(total / 30).toBeLessThanOrEqual(10_000 * 1.1); // ≈ the allowance, not 1,000 machines × 12 B every second
    // The hub's first snapshot (machines new to viewers) and 30 pushes: each either sent or merged.
    expect(relay.coalesced).toBe(31 - new Set(frames.map((f) => f.second)).size);
  });

  it('sends small deltas at once, one frame per push', () => {
    const { relay, hub, ids } = setup(10_000, 20);
    for (let s = 1; s <= 10; s++) expect(relay.ingest(push(hub, ids, s, () => s), T0 + s * 1000).frames).toHaveLength(1);
    expect(relay.coalesced).toBe(0);
  });

  it('keeps removals in order: a machine removed while held is not updated after, and is removed', () => {
    const { relay, hub, ids, viewer } = setup(500, 100);
    const held = relay.ingest(push(hub, ids, 1, () => 7), T0 + 1000).frames;
    expect(held).toEqual([]);
    expect(relay.hasPending()).toBe(true);
    const out = relay.ingest(hub.delta([], ['m0'], T0 + 1500), T0 + 1500).frames;
    for (const f of [...out, ...relay.flushPending()]) viewer.apply(f);
    expect(viewer.has('m0')).toBe(false);
    expect(viewer.get('m1')?.values.cpu_percent).toBe(7);
  });

  it('sends everything as it comes without an allowance (0)', () => {
    const { relay, hub, ids } = setup(0, 1000);
    for (let s = 1; s <= 5; s++) expect(relay.ingest(push(hub, ids, s, () => s), T0 + s * 1000).frames.length).toBeGreaterThanOrEqual(1);
    expect(relay.coalesced).toBe(0);
  });

  it('never holds a delta longer than maxHoldMs of hub time', () => {
    const relay = new FleetPicture({ maxMachines: 10_000, offlineAfterMs: 60_000, viewerCharsPerSecond: 10, maxHoldMs: 3000 });
    const hub = createFleetEncoder();
    const ids = Array.from({ length: 100 }, (_, i) => `m${i}`);
    relay.ingest(hub.restart(ids.map((id) => machine(id, {}, { lastSeen: T0 })), T0), T0);
    const sent: number[] = [];
    for (let s = 1; s <= 9; s++) if (relay.ingest(push(hub, ids, s, () => s), T0 + s * 1000).frames.length > 0) sent.push(s);
    // Held since the snapshot at T0 (its machines are new to viewers): out at 3 s, then at 4 + 3 s.
    expect(sent).toEqual([3, 7]);
  });
});
