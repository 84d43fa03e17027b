// Uptime bitmaps of a public view (durable-objects/uptime-bitmaps.ts): 96 × 15 min, bounded, shifting with the clock.
import { describe, expect, it } from 'vitest';
import { decodeViewerExtra } from '../../proto/view-frames.ts';
import { UptimeBitmaps, UPTIME_SLOT_MS, uptimeSlots } from '../../durable-objects/uptime-bitmaps.ts';

const SLOT = UPTIME_SLOT_MS;

describe('uptime bitmaps', () => {
  it('sets one bit per slot seen, newest = bit 0 of byte 0, and shifts as slots pass', () => {
    const u = new UptimeBitmaps();
    const t0 = 1000 * SLOT;
    expect(u.mark('a', t0)).toBe(true);
    expect(u.mark('a', t0 + 10)).toBe(false); // same slot: nothing changes, nothing to write
    expect(u.bitmap('a', t0)).toBe(btoa('\x01' + '\x00'.repeat(11)));
    expect(u.mark('a', t0 + 2 * SLOT)).toBe(true); // slot t0+1 missed
    const slots = uptimeSlots(u.bitmap('a', t0 + 2 * SLOT)!);
    expect(slots).toHaveLength(96);
    expect(slots.slice(-3)).toEqual([true, false, true]); // oldest first: seen, missed, seen
    expect(slots.filter(Boolean)).toHaveLength(2);
    // a day later without a push everything has fallen off
    expect(uptimeSlots(u.bitmap('a', t0 + 98 * SLOT)!).some(Boolean)).toBe(false);
    const frame = u.snapshot(t0 + 2 * SLOT + 5);
    expect(frame.end).toBe((1000 + 3) * SLOT);
    expect(decodeViewerExtra(JSON.stringify({ t: 'up', ...frame }))).toMatchObject({ t: 'up', slotMs: SLOT });
  });
  it('is bounded by the fleet and survives a checkpoint', () => {
    const u = new UptimeBitmaps();
    for (let i = 0; i < 10; i++) u.mark(`m${i}`, 5 * SLOT);
    u.retain(new Set(['m1', 'm2']));
    expect(u.size).toBe(2);
    const saved = JSON.parse(JSON.stringify(u.snapshot(6 * SLOT)));
    const v = new UptimeBitmaps();
    expect(v.restore(saved)).toBe(true);
    expect(v.bitmap('m1', 7 * SLOT)).toBe(u.bitmap('m1', 7 * SLOT));
    expect(new UptimeBitmaps(60_000).restore(saved)).toBe(false); // another slot length: dropped
  });
});
