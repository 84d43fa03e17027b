// The relay's pure picture of the fleet (durable-objects/fleet-picture.ts), in Node: merging the hub's
// snapshot and delta frames, the broadcast text, the machine cap, the offline sweep, the checkpoint, and
// the recent points it keeps for new viewers' charts.
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, createFleetReader, decodeFleetMessage, FleetResyncError, type FleetFrame, type MachineView, type WireUpdate } from '../../proto/delta.ts';
import { FleetPicture, splitIntoChunks } from '../../durable-objects/fleet-picture.ts';
import { machine } from '../edge/edge-clients.ts';

const fleet = () => new FleetPicture({ maxMachines: 3, offlineAfterMs: 1000 });

/** The hub's side of one relay connection: frames numbered by one encoder, as the hub sends them. */
function hubWire() {
  const encoder = createFleetEncoder();
  return {
    snapshot: (machines: MachineView[], ts: number) => encoder.restart(machines, ts),
    delta: (updates: WireUpdate[], removed: string[], ts: number) => encoder.delta(updates, removed, ts),
  };
}

/** A viewer's side: resolves what the relay broadcasts. */
function viewerWire(): (text: string) => FleetFrame {
  const reader = createFleetReader();
  return (text) => reader.read(decodeFleetMessage(text));
}

describe('FleetPicture', () => {
  it('turns a hub snapshot into a delta for connected viewers and a snapshot for new ones', () => {
    const f = fleet();
    const hub = hubWire();
    const early = viewerWire();
    early(f.snapshotText()); // connected before anything arrived
    const out = f.ingest(hub.snapshot([machine('a', { cpu_percent: 1 }, { lastSeen: 100 })], 100), 0);
    expect(out.kind).toBe('snapshot');
    expect(early(out.frames[0])).toMatchObject({ t: 'd', updates: [['a', 0, { 0: 1 }]] });
    expect(decodeFleetMessage(f.snapshotText())).toMatchObject({ t: 's', m: [{ id: 'a', v: { 0: 1 } }] });
    // the same snapshot again changes nothing visible
    expect(f.ingest(hub.snapshot([machine('a', { cpu_percent: 1 }, { lastSeen: 100 })], 100), 0).frames).toEqual([]);
    // a snapshot without "a" removes it
    const late = viewerWire();
    late(f.snapshotText());
    const removal = f.ingest(hub.snapshot([machine('b', {}, { lastSeen: 100 })], 100), 0).frames[0];
    for (const viewer of [early, late]) expect(viewer(removal)).toMatchObject({ t: 'd', removed: ['a'] });
  });

  it('rejects malformed frames and frames over the machine cap without changing state', () => {
    const f = fleet();
    const hub = hubWire();
    f.ingest(hub.snapshot([machine('a', {}), machine('b', {}), machine('c', {})], 1), 0);
    expect(() => f.ingest(hub.delta([['d', 0, {}]], [], 2), 0)).toThrow(/more than 3 machines/);
    expect(() => f.ingest('{"t":"x","ts":1}', 0)).toThrow(/invalid fleet message/);
    expect(() => f.ingest('{"t":"d","ts":1,"u":[[0,0,99,1]]}', 0)).toThrow(/unknown metric key/);
    expect(f.size).toBe(3);
    expect(f.ingest(hub.delta([['a', 0, { 0: 5 }]], [], 2), 0).frames[0]).toMatch(/\[\d+,0,0,5\]/);
  });

  it('asks for a resync when the hub uses numbers it never announced, and changes nothing', () => {
    const f = fleet();
    const hub = createFleetEncoder();
    f.ingest(hub.restart([machine('a', { cpu_percent: 1 })], 1), 0);
    // Number 7 was given by a snapshot this relay never received (it restarted meanwhile).
    expect(() => f.ingest(JSON.stringify({ t: 'd', ts: 2, u: [[0, 0, 0, 9], [7, 0, 0, 9]] }), 0)).toThrow(FleetResyncError);
    expect(f.viewOf('a')?.values.cpu_percent).toBe(1);
  });

  it('sweeps silent machines offline once and restores the hub status on their next update', () => {
    const f = fleet();
    const hub = hubWire();
    const viewer = viewerWire();
    f.ingest(hub.snapshot([machine('a', {}, { lastSeen: 50 }), machine('gone', {}, { status: 'offline', lastSeen: 10 })], 100), 0);
    viewer(f.snapshotText());
    expect(f.sweep(999)).toBeNull();
    expect(viewer(f.sweep(1000)!)).toMatchObject({ t: 'd', updates: [['a', 50, { s: 'offline' }]] }); // offset keeps the hub's lastSeen
    expect(f.sweep(5000)).toBeNull();
    expect(f.hasLiveMachines()).toBe(false);
    expect(f.viewOf('a')?.status).toBe('offline');
    const back = viewer(f.ingest(hub.delta([['a', 0, { 0: 3 }]], [], 200), 6000).frames[0]);
    expect(back.t === 'd' && back.updates[0][2]).toEqual({ 0: 3, s: 'healthy' });
    expect(f.hasLiveMachines()).toBe(true);
  });

  it('round-trips through a checkpoint, split into chunks that never cut a surrogate pair', () => {
    const f = fleet();
    f.ingest(hubWire().snapshot([machine('a', { cpu_percent: 7 }, { name: 'naïve 🚀 host', lastSeen: 5 })], 9), 0);
    const text = f.checkpointText();
    const chunks = splitIntoChunks(text, 7);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(c).toBe(Buffer.from(c, 'utf8').toString('utf8')); // no lone surrogates
    const g = fleet();
    g.restore(chunks.join(''), 1000);
    expect(g.snapshotText()).toBe(f.snapshotText());
    expect(g.sweep(1999)).toBeNull();
    expect(g.sweep(2000)).not.toBeNull();
  });
});

describe('FleetPicture recent points', () => {
  it('is fed by the relay fleet from snapshots and deltas and forgets removed machines', () => {
    const f = new FleetPicture({ maxMachines: 3, offlineAfterMs: 1000, recentPoints: 5 });
    const hub = hubWire();
    f.ingest(hub.snapshot([machine('a', { cpu_percent: 1 }, { lastSeen: 100 })], 100), 0);
    f.ingest(hub.delta([['a', 0, { 0: 2 }]], [], 200), 0);
    f.ingest(hub.delta([['a', 0, { 1: 40 }]], [], 300), 0);
    expect(f.recentPoints('a')).toEqual([
      { t: 100, metrics: { cpu_percent: 1 } },
      { t: 200, metrics: { cpu_percent: 2 } },
      { t: 300, metrics: { cpu_percent: 2, memory_percent: 40 } },
    ]);
    expect(f.recentPoints('nope')).toBeUndefined();
    f.ingest(hub.delta([], ['a'], 400), 0);
    expect(f.recentPoints('a')).toBeUndefined();
  });
});
