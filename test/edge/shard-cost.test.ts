// What a view costs with RELAY_SHARDS 1, 2 and 4, measured in workerd with the hub's real forwarder,
// which holds one socket per shard (/ingest?view=<slug>&shard=<i>, the count learned from the Worker):
// hub frames in on every shard, RPC calls between objects (none: no coordinator), alarms and rows
// written per object, and the viewers' acks (the slow-viewer signal, billed 20:1 as incoming WebSocket
// messages). 100 machines, every one changing every second, 8 viewers. Written to
// test-output/edge-cost-shards.json; docs/cost.md recomputes the bill from it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createEdgeForwarder } from '../../hub/edge/edge-forwarder.ts';
import type { RelayStats } from '../../durable-objects/relay-stats.ts';
import { VIEWER_ACK_FRAMES } from '../../durable-objects/viewer-lag.ts';
import { machine, MemoryFleetSource, relayStats, TestViewer, viewConfig, waitFor } from './edge-clients.ts';
import { REPO_ROOT, startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const MACHINES = 100;
const VIEWERS = 8;
// Long enough for a whole number of acks (one per 16 frames) and two of the hub's heartbeats (20 s).
const WINDOW_MS = 44_000;
let dev: WranglerDev | undefined;
const open: { close(): unknown }[] = [];

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await dev?.stop();
  dev = undefined;
});

export interface ShardHour {
  shards: number;
  seconds: number;
  /** Hub frames per hour, every shard's socket together (each push once per shard). */
  hubFramesPerHour: number;
  /** RPC calls between objects per hour (the coordinator's; 0 with a socket per shard). */
  rpcCallsPerHour: number;
  /** Alarms per hour, all objects of the view together. */
  alarmsPerHour: number;
  alarmsSetPerHour: number;
  rowsWrittenPerHour: number;
  /** Acks one viewer sends per hour (≈ frames / 16; counted whole, so ±1 ack per window). */
  acksPerViewerHour: number;
  framesPerViewerHour: number;
  viewerFramesInPerViewerHour: number;
  viewersPerShard: number[];
  /** Pushes the forwarder sent in the window, and hub frames the view's shards counted in it. */
  pushes: number;
  hubFrames: number;
  /** Hub sockets the forwarder held (one per shard). */
  hubSockets: number;
}

const results: ShardHour[] = [];

/** Durable Object requests a month (730 h) of one view from the measured hour: hub frames on every
 *  shard (20:1), RPC calls between objects (1:1; none now), alarms, and the viewers' acks (20:1) for
 *  1,000 viewers keeping the page open all month and for 10,000 viewers visiting 10 minutes a day. */
function monthlyRequests(r: ShardHour) {
  const h = 730;
  const hub = (r.hubFramesPerHour / 20) * h;
  const alarms = r.alarmsPerHour * h;
  const base = hub + r.rpcCallsPerHour * h + alarms;
  const acksAlwaysOn1k = ((r.acksPerViewerHour / 20) * 1000 * h);
  const acksDaily10k = ((r.acksPerViewerHour / 20) * 10_000 * (10 / 60) * (h / 24));
  return {
    shards: r.shards,
    'view M req/month (hub+RPC+alarms)': +(base / 1e6).toFixed(2),
    'of which hub frames M': +(hub / 1e6).toFixed(2),
    'of which alarms M': +(alarms / 1e6).toFixed(2),
    'of which RPC M': +((r.rpcCallsPerHour * h) / 1e6).toFixed(2),
    'acks M: 1,000 viewers always on': +(acksAlwaysOn1k / 1e6).toFixed(2),
    'acks M: 10,000 viewers 10 min/day': +(acksDaily10k / 1e6).toFixed(2),
  };
}

async function measure(shards: number): Promise<ShardHour> {
  dev = await startWranglerDev({ vars: { RELAY_SHARDS: String(shards) } });
  const source = new MemoryFleetSource();
  const now = Date.now();
  for (let i = 0; i < MACHINES; i++) source.set(machine(`m${i}`, { cpu_percent: i % 100 }, { lastSeen: now }));
  const hub = createEdgeForwarder({
    url: `${dev.ingestUrl}?view=default`,
    apiKey: dev.hubToken,
    pushIntervalMs: 1000,
    source,
    log: pino({ level: 'silent' }),
    configFrame: () => JSON.stringify(viewConfig('default')),
  });
  open.push({ close: () => void hub.close() });
  hub.start();
  await waitFor('a hub socket per shard', () => hub.stats().shardsConnected === shards, 30_000);
  await waitFor('every shard holds the fleet', async () => (await relayStats(dev!.url, dev!.hubToken)).filter((s) => s.role === 'relay' && s.machines === MACHINES).length === shards, 30_000);
  const viewers: TestViewer[] = [];
  for (let i = 0; i < VIEWERS; i++) {
    const v = await TestViewer.open(dev.viewerUrl);
    open.push(v);
    viewers.push(v);
  }
  for (const v of viewers) await waitFor('snapshot', () => v.fleet.size === MACHINES);
  let round = 0;
  // Every machine changes once a second, half a push interval away from the forwarder's timer.
  await new Promise((r) => setTimeout(r, 500));
  const ticker = setInterval(() => {
    round++;
    const ts = Date.now();
    for (let i = 0; i < MACHINES; i++) source.set(machine(`m${i}`, { cpu_percent: (round + i) % 100 }, { lastSeen: ts }));
  }, 1000);
  const pushed = () => hub.stats().shardLinks[0].deltasSent;
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    const before = await relayStats(dev.url, dev.hubToken);
    const pushes0 = pushed();
    const acks0 = viewers.reduce((n, v) => n + v.acksSent, 0);
    const frames0 = viewers.reduce((n, v) => n + v.raw.length, 0);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const after = await relayStats(dev.url, dev.hubToken);
    const seconds = (Date.now() - started) / 1000;
    const pushes = pushed() - pushes0;
    const acks = viewers.reduce((n, v) => n + v.acksSent, 0) - acks0;
    const framesIn = viewers.reduce((n, v) => n + v.raw.length, 0) - frames0;
    // No more pushes, then every viewer must get the last one (under load a push may take over a second).
    clearInterval(ticker);
    const last = round;
    for (const [i, v] of viewers.entries()) {
      await waitFor('every viewer has the last push', () => v.value('m0', 'cpu_percent') === last % 100, 15_000).catch((err: Error) => {
        const tail = v.raw.slice(-3).map((f) => f.slice(0, 160));
        throw new Error(`${err.message}: viewer ${i} has m0 = ${v.value('m0', 'cpu_percent')}, want ${last % 100} (round ${last}); closed ${v.closeCode}; ${v.raw.length} frames, last: ${JSON.stringify(tail)}`);
      });
    }
    const sum = (list: RelayStats[], pick: (s: RelayStats) => number, role?: RelayStats['role']) => list.filter((s) => role === undefined || s.role === role).reduce((n, s) => n + pick(s), 0);
    const diff = (pick: (s: RelayStats) => number, role?: RelayStats['role']) => sum(after, pick, role) - sum(before, pick, role);
    const hubFrames = diff((s) => s.hubFramesIn);
    const rpcOut = diff((s) => s.rpcCallsOut ?? 0);
    const perHour = (n: number) => Math.round((n * 3600) / seconds);
    return {
      shards,
      seconds,
      pushes,
      hubFrames,
      hubSockets: hub.stats().shardsConnected,
      hubFramesPerHour: perHour(hubFrames),
      rpcCallsPerHour: perHour(rpcOut),
      alarmsPerHour: perHour(diff((s) => s.alarmsRun)),
      alarmsSetPerHour: perHour(diff((s) => s.alarmsSet)),
      rowsWrittenPerHour: perHour(diff((s) => s.rowsWritten)),
      acksPerViewerHour: perHour(acks / VIEWERS),
      framesPerViewerHour: perHour(framesIn / VIEWERS),
      viewerFramesInPerViewerHour: perHour(diff((s) => s.viewerFramesIn, 'relay') / VIEWERS),
      viewersPerShard: after.filter((s) => s.role === 'relay').map((s) => s.viewers),
    };
  } finally {
    clearInterval(ticker);
  }
}

for (const shards of [1, 2, 4]) {
  it(`measures the billed counts of a view with RELAY_SHARDS=${shards}`, async () => {
    const r = await measure(shards);
    results.push(r);
    // One socket per shard, one hub frame per push on each (a push in flight at either end of the window
    // may fall on either side; a busy machine may delay the pushes, so they are counted, not assumed one
    // a second), and no RPC between objects: no coordinator hop.
    expect(r.hubSockets).toBe(shards);
    expect(r.pushes).toBeGreaterThan(0);
    expect(Math.abs(r.hubFrames - r.pushes * shards)).toBeLessThanOrEqual(2 * shards);
    expect(r.rpcCallsPerHour).toBe(0);
    // Viewers go to the shards in turn.
    expect(Math.max(...r.viewersPerShard) - Math.min(...r.viewersPerShard)).toBeLessThanOrEqual(1);
    // The slow-viewer signal: about one ack per VIEWER_ACK_FRAMES (16) frames a viewer gets, and every ack reached the relay.
    const ackQuantum = (3600 * 1000) / WINDOW_MS; // one ack more or less in the window
    expect(r.acksPerViewerHour).toBeGreaterThanOrEqual(r.framesPerViewerHour / VIEWER_ACK_FRAMES - ackQuantum - 1);
    expect(r.acksPerViewerHour).toBeLessThanOrEqual(r.framesPerViewerHour / VIEWER_ACK_FRAMES + ackQuantum + 1);
    // Every ack reached the relay: the relay's count and the viewers' differ at most by an ack per viewer in
    // flight at each end of the window.
    expect(Math.abs(r.viewerFramesInPerViewerHour - r.acksPerViewerHour)).toBeLessThanOrEqual(2 * ackQuantum + 1);
    if (results.length === 3) {
      const out = path.join(REPO_ROOT, 'test-output');
      mkdirSync(out, { recursive: true });
      const bills = results.map(monthlyRequests);
      writeFileSync(path.join(out, 'edge-cost-shards.json'), JSON.stringify({ measured: results, monthly: bills }, null, 2));
      console.table(results);
      console.table(bills);
    }
  }, 120_000);
}
