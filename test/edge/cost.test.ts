// Measures what the edge is billed for, in workerd with the default wrangler.toml settings (5 s
// checkpoints, 1 s pushes): hub frames in, alarms, SQLite rows written, and workerd CPU per frame,
// for 100 and 10,000 machines and for 5 vs 200 viewers, and for three public views side by side (one
// relay object and one hub socket each). The hub is played by a raw socket per the view contract
// (config frame, snapshot, one delta of every machine per second: the forwarder's worst case). The
// figures are extrapolated per hour, fed to the cost model and written to test-output/edge-cost.json
// and test-output/edge-cost-views.json; docs/cost.md quotes them.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RelayStats } from '../../durable-objects/relay-stats.ts';
import { machine, relayStats, TestHub, TestViewer, waitFor } from './edge-clients.ts';
import { monthlyBill, type MeasuredRelayHour } from './cost-model.ts';
import { REPO_ROOT, startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const WINDOW_MS = 10_500;
let dev: WranglerDev;
const viewers: TestViewer[] = [];

beforeAll(async () => {
  dev = await startWranglerDev(); // the defaults of wrangler.toml
});
afterAll(async () => {
  for (const v of viewers) v.close();
  await dev?.stop();
});

interface WindowResult {
  machines: number;
  viewers: number;
  seconds: number;
  hubFrames: number;
  alarms: number;
  alarmsSet: number;
  checkpoints: number;
  rowsWritten: number;
  checkpointChars: number;
  /** CPU of both workerd processes of `wrangler dev` (the app and the proxy in front of it). */
  cpuSeconds: number;
  /** CPU of the app's workerd only (Worker + Durable Objects): what production would run. */
  appCpuSeconds: number;
  bytesPerDelta: number;
}

/** A view's hub: config frame, a snapshot of `count` machines, then one delta a second in which every
 *  machine changes (cpu, memory, network in), like a forwarder whose whole fleet changes every push. */
async function startHub(slug: string, count: number): Promise<{ hub: TestHub; round(): number; bytesPerDelta(): number; stop(): Promise<void> }> {
  const hub = await TestHub.forView(dev.ingestUrl, dev.hubToken, slug);
  const now = Date.now();
  hub.sendSnapshot(Array.from({ length: count }, (_, i) => machine(`m${i}`, { cpu_percent: i % 100, memory_percent: 40 + (i % 10), network_recv_bytes_sec: i }, { lastSeen: now })), now);
  await waitFor(`view ${slug} fed`, async () => (await relayStats(dev.url, dev.hubToken, [slug]))[0].machines === count, 30_000);
  // The snapshot's own checkpoint (fleet and the first uptime bits) is behind us before anything is measured.
  const fedAt = Date.now();
  await waitFor(`view ${slug} checkpointed`, async () => {
    const s = (await relayStats(dev.url, dev.hubToken, [slug]))[0];
    return s.checkpoints > 0 && s.alarmsRun > 0 && Date.now() - fedAt > 0 && s.lastCheckpointChars > 0;
  }, 20_000);
  await new Promise((r) => setTimeout(r, 5_500));
  let round = 0;
  let deltaBytes = 0;
  const ticker = setInterval(() => {
    round++;
    const updates = Array.from({ length: count }, (_, i) => [`m${i}`, 0, { 0: (round * 7 + i) % 100, 1: 40 + ((i + round) % 10), 4: round * 1000 + i }] as [string, number, Record<string, number>]);
    hub.sendDelta(updates, [], Date.now());
    deltaBytes += hub.sent.at(-1)!.length;
    hub.sent.length = 0;
  }, 1000);
  return {
    hub,
    round: () => round,
    bytesPerDelta: () => deltaBytes / Math.max(1, round),
    stop: async () => {
      clearInterval(ticker);
      await hub.close();
    },
  };
}

/** Runs a fleet of `count` machines, every one reporting each second, through a hub socket for `ms`. */
async function measure(count: number, viewerCount: number, ms: number): Promise<WindowResult> {
  const feed = await startHub('default', count);
  while (viewers.length < viewerCount) viewers.push(await TestViewer.open(dev.viewerUrl));
  while (viewers.length > viewerCount) viewers.pop()!.close();
  try {
    for (const v of viewers) await waitFor('viewer in sync', () => v.fleet.size === count && v.fleet.has(`m${count - 1}`), 20_000);
    await new Promise((r) => setTimeout(r, 1_200)); // let the snapshot's checkpoint and alarm settle
    const before = (await relayStats(dev.url, dev.hubToken))[0];
    const cpuBefore = dev.workerdCpuSeconds();
    const appCpuBefore = dev.appWorkerdCpuSeconds();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, ms));
    const after: RelayStats = (await relayStats(dev.url, dev.hubToken))[0];
    const seconds = (Date.now() - started) / 1000;
    const last = `m${count - 1}`;
    for (const v of viewers) await waitFor('latest values at every viewer', () => v.fleet.get(last)?.values.network_recv_bytes_sec! >= (feed.round() - 2) * 1000);
    return {
      machines: count,
      viewers: viewerCount,
      seconds,
      hubFrames: after.hubFramesIn - before.hubFramesIn,
      alarms: after.alarmsRun - before.alarmsRun,
      alarmsSet: after.alarmsSet - before.alarmsSet,
      checkpoints: after.checkpoints - before.checkpoints,
      rowsWritten: after.rowsWritten - before.rowsWritten,
      checkpointChars: after.lastCheckpointChars,
      cpuSeconds: dev.workerdCpuSeconds() - cpuBefore,
      appCpuSeconds: dev.appWorkerdCpuSeconds() - appCpuBefore,
      bytesPerDelta: feed.bytesPerDelta(),
    };
  } finally {
    await feed.stop();
  }
}

const perHour = (n: number, seconds: number) => (n * 3600) / seconds;

it('measures hub frames, alarms, rows written and CPU per hour of 1 s pushes', async () => {
  const small = await measure(100, 5, WINDOW_MS);
  const large = await measure(10_000, 5, WINDOW_MS);
  const crowd = await measure(100, 200, 6_000);

  for (const w of [small, large, crowd]) {
    // at most one frame per push interval (+1 for window edges)
    expect(w.hubFrames).toBeLessThanOrEqual(Math.ceil(w.seconds) + 1);
    expect(w.hubFrames).toBeGreaterThanOrEqual(Math.floor(w.seconds) - 2);
    // checkpoints only by the 5 s alarm, never one per update
    expect(w.checkpoints).toBeLessThanOrEqual(Math.ceil(w.seconds / 5) + 1);
    expect(w.alarms).toBeLessThanOrEqual(Math.ceil(w.seconds / 5) + 1);
  }
  expect(small.rowsWritten).toBeLessThanOrEqual(small.checkpoints * 1); // one row per checkpoint
  expect(large.rowsWritten).toBeLessThanOrEqual(large.checkpoints * Math.ceil(large.checkpointChars / 500_000));

  // Active time is priced from the app workerd's CPU per frame (the proxy worker of `wrangler dev` is
  // not in production); it still includes loopback TCP for every viewer frame: an upper bound.
  const cpuPerFrame = (w: WindowResult) => w.appCpuSeconds / Math.max(1, w.hubFrames);
  const perViewer = Math.max(0, (cpuPerFrame(crowd) - cpuPerFrame(small)) / (crowd.viewers - small.viewers));
  const hour = (w: WindowResult): MeasuredRelayHour => ({
    hubFrames: perHour(w.hubFrames, w.seconds),
    alarms: perHour(w.alarms, w.seconds),
    alarmsSet: perHour(w.alarmsSet, w.seconds),
    rowsWritten: perHour(w.rowsWritten, w.seconds),
    activeSecondsPerFrame: cpuPerFrame(w),
    activeSecondsPerFramePerViewer: perViewer,
  });
  const measured = { machines100: hour(small), machines10k: hour(large) };
  const scenarios = [
    [100, 1_000, measured.machines100],
    [100, 100_000, measured.machines100],
    [1_000, 10_000, { ...measured.machines100, activeSecondsPerFrame: cpuPerFrame(small) + ((cpuPerFrame(large) - cpuPerFrame(small)) * 900) / 9_900 }],
    [10_000, 1_000, measured.machines10k],
    [10_000, 100_000, measured.machines10k],
  ] as const;
  const bills = scenarios.flatMap(([machines, viewerCount, m]) =>
    [1, 24].map((sessionsPerViewerPerDay) => ({
      machines,
      viewers: viewerCount,
      sessionsPerViewerPerDay,
      ...monthlyBill({ machines, viewers: viewerCount, measured: m, sessionsPerViewerPerDay, workerRequestsPerSession: 3, workerCpuMsPerRequest: 1 }),
    })),
  );
  const out = { measuredAt: new Date().toISOString(), windows: { small, large, crowd }, perHour: measured, bills };
  mkdirSync(path.join(REPO_ROOT, 'test-output'), { recursive: true });
  writeFileSync(path.join(REPO_ROOT, 'test-output/edge-cost.json'), JSON.stringify(out, null, 2));
  console.log(JSON.stringify({ windows: out.windows, perHour: out.perHour }, null, 1));
  console.table(bills.map((b) => ({ machines: b.machines, viewers: b.viewers, sessionsPerDay: b.sessionsPerViewerPerDay, shards: b.shards, doRequestsM: +(b.doRequests / 1e6).toFixed(2), gbS: Math.round(b.doGbSeconds), rowsM: +(b.rowsWritten / 1e6).toFixed(2), workerReqM: +(b.workerRequests / 1e6).toFixed(2), ...Object.fromEntries(Object.entries(b.usd).map(([k, v]) => [k, +v.toFixed(2)])) })));

  // The target: 1,000 machines and 10,000 viewers within the $5 minimum + $1. Requests, storage
  // and Worker invocations are exact counts and must fit. Duration is priced from local workerd CPU,
  // which includes loopback TCP for every viewer frame: an upper bound that docs/cost.md reports
  // separately instead of asserting on it.
  const target = bills.find((b) => b.machines === 1_000 && b.viewers === 10_000 && b.sessionsPerViewerPerDay === 1)!;
  expect(target.usd.total - target.usd.doDuration).toBeLessThanOrEqual(6);
}, 150_000);

it('measures several views side by side: one relay object and one hub socket each, nothing shared', async () => {
  for (let attempt = 1; attempt <= 2; attempt++) {
    const slugs = ['status', 'team-a', 'team-b'];
    const machinesPerView = 100;
    const viewersPerView = 5;
    const feeds = await Promise.all(slugs.map((slug) => startHub(slug, machinesPerView)));
    const own: TestViewer[] = [];
    try {
      for (const slug of slugs) {
        await waitFor(`view ${slug} fed`, async () => (await relayStats(dev.url, dev.hubToken, [slug]))[0].machines === machinesPerView, 20_000);
        for (let i = 0; i < viewersPerView; i++) own.push(await TestViewer.open(`ws://127.0.0.1:${dev.port}/v/${slug}/ws`));
      }
      for (const v of own) await waitFor('viewer in sync', () => v.fleet.size === machinesPerView, 20_000);
      await new Promise((r) => setTimeout(r, 1_200));
      const before = await relayStats(dev.url, dev.hubToken, slugs);
      const started = Date.now();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const after = await relayStats(dev.url, dev.hubToken, slugs);
      const seconds = (Date.now() - started) / 1000;
      const perView = slugs.map((slug, i) => ({
        view: slug,
        object: after[i].name,
        hubSockets: after[i].hubs,
        viewers: after[i].viewers,
        hubFramesPerHour: Math.round(perHour(after[i].hubFramesIn - before[i].hubFramesIn, seconds)),
        alarmsPerHour: Math.round(perHour(after[i].alarmsRun - before[i].alarmsRun, seconds)),
        alarmsSetPerHour: Math.round(perHour(after[i].alarmsSet - before[i].alarmsSet, seconds)),
        rowsWrittenPerHour: Math.round(perHour(after[i].rowsWritten - before[i].rowsWritten, seconds)),
        rpcCallsPerHour: Math.round(perHour(after[i].rpcCalls - before[i].rpcCalls - 1, seconds)), // minus the stats call itself
        viewerFramesOutPerHour: Math.round(perHour(after[i].viewerFramesOut - before[i].viewerFramesOut, seconds)),
      }));
      const total = {
        hubFramesPerHour: perView.reduce((n, v) => n + v.hubFramesPerHour, 0),
        doRequestsPerHour: Math.round(perView.reduce((n, v) => n + v.hubFramesPerHour / 20 + v.alarmsPerHour, 0)),
        rowsWrittenPerHour: perView.reduce((n, v) => n + v.rowsWrittenPerHour + v.alarmsSetPerHour, 0),
      };
      const out = { measuredAt: new Date().toISOString(), seconds, machinesPerView, viewersPerView, perView, total };
      mkdirSync(path.join(REPO_ROOT, 'test-output'), { recursive: true });
      writeFileSync(path.join(REPO_ROOT, 'test-output/edge-cost-views.json'), JSON.stringify(out, null, 2));
      console.log(JSON.stringify(out, null, 1));
      // A local workerd that reloaded mid-window (every socket closed, counters back at zero) measured
      // nothing: measure once more.
      if (attempt === 1 && perView.some((v) => v.hubSockets === 0 || v.hubFramesPerHour < 0)) {
        console.warn('the relay objects restarted during the window; measuring again');
        continue;
      }
      expect(perView.map((v) => v.object)).toEqual(slugs.map((s) => `view:${s}:0`));
      for (const v of perView) {
        expect(v.hubSockets).toBe(1);
        expect(v.viewers).toBe(viewersPerView);
        // one frame a second per view, no RPC between objects, checkpoints only by the 5 s alarm
        expect(v.hubFramesPerHour).toBeLessThanOrEqual(3600 * (1 + 2 / seconds));
        expect(v.rpcCallsPerHour).toBe(0);
        expect(v.alarmsPerHour).toBeLessThanOrEqual(Math.ceil(3600 / 5) * (1 + 5 / seconds));
      }
    } finally {
      for (const v of own) v.close();
      for (const f of feeds) await f.stop();
    }
    return;
  }
}, 180_000);
