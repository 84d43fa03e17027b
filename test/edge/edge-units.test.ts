// Pure parts of the edge, in Node: the relay's fleet state (merge, broadcast, caps, sweep, checkpoint),
// hub auth, relay config, full-jitter backoff, security headers, and the /api/machines shape.
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, createFleetReader, decodeFleetMessage, FleetResyncError, type FleetFrame, type MachineView, type WireUpdate } from '../../proto/delta.ts';
import { FleetPicture, splitIntoChunks } from '../../durable-objects/fleet-picture.ts';
import { RecentRings, recentRingBytes } from '../../durable-objects/recent-rings.ts';
import { checkHubAuth, bearerToken } from '../../worker/hub-auth.ts';
import { parseRelayConfig, RELAY_DEFAULTS } from '../../durable-objects/relay-config.ts';
import { contentSecurityPolicy } from '../../proto/security-headers.ts';
import { toEdgeMachineSummary } from '../../durable-objects/machine-summary.ts';
import { fullJitterDelayMs } from '../../hub/edge/backoff.ts';
import type { MachineSummaryJson } from '../../hub/fleet/fleet-query.ts';
import { machine } from './edge-clients.ts';

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

describe('hub auth', () => {
  it.each([
    [undefined, 'secret', 'missing'],
    ['Bearer secret', undefined, 'not-configured'],
    ['Bearer secret', '', 'not-configured'],
    ['Bearer wrong', 'secret', 'wrong'],
    ['Bearer secretx', 'secret', 'wrong'],
    ['Basic secret', 'secret', 'missing'],
    ['secret', 'secret', 'missing'],
    ['Bearer secret', 'secret', 'ok'],
    ['bearer   secret ', 'secret', 'ok'],
  ] as const)('%s with token %s → %s', async (header, token, expected) => {
    expect(await checkHubAuth(header, token)).toBe(expected);
  });
  it('extracts only a single bearer token', () => {
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('Bearer abc')).toBe('abc');
  });
});

describe('relay config', () => {
  it('uses the defaults and parses string vars', () => {
    expect(parseRelayConfig({})).toEqual(RELAY_DEFAULTS);
    expect(parseRelayConfig({ RELAY_SHARDS: '4', OFFLINE_AFTER_MS: ' 1500 ' })).toMatchObject({ relayShards: 4, offlineAfterMs: 1500 });
  });
  it.each([
    [{ RELAY_SHARDS: '0' }, /RELAY_SHARDS must be an integer between 1 and 256 \(got "0"\)/],
    [{ OFFLINE_AFTER_MS: 'soon' }, /OFFLINE_AFTER_MS/],
    [{ MAX_MACHINES: '20001' }, /MAX_MACHINES/],
  ])('rejects %o', (vars, message) => {
    expect(() => parseRelayConfig(vars)).toThrow(message);
  });
});

describe('full-jitter backoff', () => {
  it.each([
    [0, 0.999, 499],
    [3, 0.5, 2000],
    [20, 0.999, 29_970],
    [20, 0, 0],
  ])('attempt %i with random %f → %i ms', (attempt, r, expected) => {
    expect(fullJitterDelayMs(attempt, { baseMs: 500, maxMs: 30_000 }, () => r)).toBe(expected);
  });
});

describe('worker responses', () => {
  it('allows WebSockets only back to the serving host', () => {
    expect(contentSecurityPolicy(new URL('https://x.workers.dev/'))).toContain("connect-src 'self' wss://x.workers.dev");
    expect(contentSecurityPolicy(new URL('https://x.workers.dev/'))).toContain("frame-ancestors 'none'");
  });
  it("answers /api/machines in the hub shape, with only the view's metrics the hub sent", () => {
    const summary: Omit<MachineSummaryJson, 'metrics'> = toEdgeMachineSummary(machine('a', { cpu_percent: 3 }));
    const { metrics } = toEdgeMachineSummary(machine('a', { cpu_percent: 3 }));
    expect(summary.id).toBe('a');
    expect(metrics).toEqual({ cpu_percent: 3 });
    expect('memory_used_bytes' in metrics).toBe(false);
  });
});
