// Benchmark 3 — fan-out under `wrangler dev` (the Worker and its Durable Objects in workerd on this
// machine): the hub side is the hub's real edge forwarder (hub/edge/edge-forwarder.ts) over a fleet of
// 1,000 machines that all change every second, read through the default public view's projection
// (hub/views/view-projection.ts: whole percentages, the card metrics; `--view raw` sends every metric
// unrounded, as before views), pushing one coalesced delta a second; 100 → 1,000 → 2,500 viewers
// (quick: 20, 100) on one relay, then the same with RELAY_SHARDS=2. Viewers are lean raw sockets
// (bench/fanout-raw-viewers.ts; `ws` clients in bench/fanout-viewers.ts with --deflate on) in two child
// processes, acknowledging what they read like the dashboard. `--laggards P`: P % of the viewers read at
// a tenth of the speed; the relay must cut them (VIEWER_LAG_*) while the others keep every push.
// Per step: workerd's peak RSS, and the bytes every (normal) viewer received per second, printed as
// `N KB/s per viewer`. The run aborts if the machine's available memory drops under 6 GB.
// Measured per step: push → receipt at every viewer (the delta's ts is the forwarder's push time; same
// machine clock) p50/p99, deliveries missed, bytes per changed machine in the frames viewers get
// (frame bytes ÷ machines in it) and on the socket, hub → relay bytes per changed machine, CPU of the
// workerd processes and of the viewer processes.
// Targets: p99 < 250 ms at 5,000 viewers; ≤ 64 bytes per changed machine.
// Run: node bench/fanout.ts [--viewers 100,1000,2500] [--shards 1,2] [--machines 100,1000] [--pushes 30]
//      [--view default|raw] [--laggards 0] [--bytes-per-s N] [--deflate off|on|both] [--via direct|proxy] [--viewer-procs 2]   (--quick: 20,100 viewers, 6 pushes)
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { createEdgeForwarder, type EdgeForwarder } from '../hub/edge/edge-forwarder.ts';
import { viewConfigFrame } from '../hub/edge/edge-views.ts';
import { projectFleetSource } from '../hub/edge/fleet-source.ts';
import { createViewProjector } from '../hub/views/view-projection.ts';
import type { PublicViewEntry } from '../hub/views/view-registry.ts';
import { liveValues, type MachineView } from '../proto/delta.ts';
import { parsePublicView } from '../proto/public-view.ts';
import type { LaggardCounts, OpenRawViewers, RawViewerDiagnostics } from './fanout-raw-viewers.ts';
import { MemoryFleetSource, relayStats, viewConfig } from '../test/edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../test/edge/wrangler-dev.ts';
import type { OpenViewers, ViewersEnded } from './fanout-viewers.ts';
import { forkChild, type IpcChild } from './ipc-child.ts';

import { seededRandom, syntheticMachine } from './synthetic-fleet.ts';
import { treeUsage } from './process-usage.ts';
import { commandLine, fmt, listFlag, markdownTable, numberFlag, parseBenchArgs, sleep, summarize, verdict, waitUntil, writeResultsSection, type LatencySummary } from './results.ts';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const viewerSteps = listFlag(args, 'viewers', [100, 1000, 2500], [20, 100]);
const shardConfigs = listFlag(args, 'shards', [1, 2], [1, 2]);
const machineCounts = listFlag(args, 'machines', [100, 1000], [1000]);
const pushes = numberFlag(args, 'pushes', 30, 6);
const laggardPercent = numberFlag(args, 'laggards', 0, 0);
/** VIEWER_BYTES_PER_S for the relay; unset: wrangler.toml's default. 0 = one frame per push. */
const bytesPerS = args.flags['bytes-per-s'] === undefined ? undefined : String(numberFlag(args, 'bytes-per-s', 0, 0));
const viewMode = String(args.flags.view ?? 'default');
if (viewMode !== 'default' && viewMode !== 'raw') throw new Error(`--view must be default or raw (got ${viewMode})`);
/** The public view the bench serves: the defaults (all machines, card metrics, whole percentages). */
const BENCH_VIEW: PublicViewEntry = { view: parsePublicView({ slug: 'default', title: 'Fan-out bench', machines: 'all' }), source: 'file', secret: null };
/** Viewers offering permessage-deflate (`ws` clients, as browsers do) or not (lean raw sockets); default off. */
const deflateFlag = String(args.flags.deflate ?? 'off');
const deflateModes: boolean[] = deflateFlag === 'both' ? [false, true] : deflateFlag === 'on' || deflateFlag === 'true' ? [true] : deflateFlag === 'off' ? [false] : [];
if (deflateModes.length === 0) throw new Error(`--deflate must be on, off or both (got ${deflateFlag})`);
const VIEWERS_PER_PROCESS = 1250;
/** Where viewers and the hub connect: `direct` = the workerd that runs the Worker and its objects;
 *  `proxy` = `wrangler dev`'s port, whose proxy workerd relays every frame once more (production has no
 *  such hop). A list runs each in turn. */
const viaModes = String(args.flags.via ?? 'direct').split(',');
if (viaModes.some((v) => v !== 'direct' && v !== 'proxy')) throw new Error(`--via must be direct, proxy or both as a list (got ${String(args.flags.via)})`);
/** Raw-socket viewer processes (each reads its share of the sockets on one event loop). */
const viewerProcs = numberFlag(args, 'viewer-procs', 2, 2);

const TARGET_P99_MS = 250;
const TARGET_BYTES = 64;
const TARGET_VIEWERS = 5000;
const TARGET_KB_PER_VIEWER = 10;
/** The run stops when the machine's available memory falls below this (workerd once filled 22 GB). */
const MIN_AVAILABLE_BYTES = 6 * 1024 ** 3;
const memAvailable = () => Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;

// ---- enough file descriptors (workerd inherits ours through wrangler) ----
function openFileLimit(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '';
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
  const n = (v: string) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: n(soft), hard: n(hard) };
}
const neededFiles = 2 * Math.max(...viewerSteps) + 4096;
const limits = openFileLimit();
if (limits.soft < neededFiles && !process.env.BENCH_FANOUT_REEXEC) {
  if (limits.hard < neededFiles) {
    console.warn(`open file limit ${limits.soft} (hard ${limits.hard}) is below the ${neededFiles} this run may need; raise it as root (ulimit -Hn) or expect failed connections`);
  } else {
    console.log(`raising the open file limit from ${limits.soft} to ${neededFiles} and starting again`);
    const quoted = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const r = spawnSync('sh', ['-c', `ulimit -n ${neededFiles} && exec ${quoted}`], { stdio: 'inherit', env: { ...process.env, BENCH_FANOUT_REEXEC: '1' } });
    process.exit(r.status ?? 1);
  }
}

// ---- a fleet that changes every second ----
const random = seededRandom(7);

function initialFleet(count: number, nowMs: number): MachineView[] {
  return Array.from({ length: count }, (_, i) => syntheticMachine(i, nowMs, random, 80));
}

/** What one more second does to a machine: CPU, network and disk writes always move, memory sometimes. */
function nextSecond(m: MachineView, nowMs: number): MachineView {
  const v = m.values;
  const drift = (x: number | undefined, scale: number, max = Number.POSITIVE_INFINITY) => Math.min(max, Math.max(0, (x ?? 0) + (random() - 0.5) * scale));
  return {
    ...m,
    lastSeen: nowMs,
    values: liveValues({
      ...v,
      cpu_percent: drift(v.cpu_percent, 20, 100),
      memory_percent: random() < 0.3 ? drift(v.memory_percent, 1, 100) : v.memory_percent,
      network_recv_bytes_sec: drift(v.network_recv_bytes_sec, 2e5),
      network_sent_bytes_sec: drift(v.network_sent_bytes_sec, 2e5),
      disk_write_bytes_sec: drift(v.disk_write_bytes_sec, 5e4),
      uptime_seconds: (v.uptime_seconds ?? 0) + 1,
    }),
  };
}

interface StepResult {
  machines: number;
  /** Viewer frames per hub push (< 1 when the byte allowance merged pushes). */
  framesPerPush: number;
  kbPerViewerS: number;
  workerdPeakRssMb: number;
  laggards: LaggardCounts | null;
  relayPaused: number;
  relayClosedSlow: number;
  /** Hub shard sockets that dropped during the window (each reconnects and resends its snapshot). */
  hubSocketDrops: number;
  shards: number;
  deflate: boolean;
  via: string;
  /** Worst event-loop delay of a viewer process in the window (p99, max), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  closeCauses: Record<string, number>;
  viewers: number;
  connected: number;
  openMs: number;
  pushes: number;
  latency: LatencySummary;
  expected: number;
  received: number;
  bytesPerMachine: number;
  fieldsPerUpdate: number;
  wireBytesPerMachine: number;
  hubBytesPerMachine: number;
  workerdCpuS: number;
  workerdCpuPercent: number;
  viewerCpuPercent: number;
  windowS: number;
}

/** The wrangler dev instances running: ended on SIGTERM/SIGINT too (a time limit on the run), else
 *  their process group (detached, so stop() can end it whole) would outlive the bench. */
const running = new Set<WranglerDev>();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void Promise.all([...running].map((d) => d.stop('SIGKILL'))).finally(() => process.exit(130));
  });
}

async function runConfig(machines: number, shards: number, deflate: boolean, via: string, log: pino.Logger): Promise<StepResult[]> {
  console.log(`\n=== ${machines} machines, RELAY_SHARDS=${shards}, ${deflate ? '`ws` viewers offering permessage-deflate' : 'raw-socket viewers'}, via ${via}: starting wrangler dev ...`);
  const dev: WranglerDev = await startWranglerDev({ vars: {
      RELAY_SHARDS: String(shards),
      MAX_MACHINES: String(Math.max(10_000, machines)),
      // Every bench viewer comes from 127.0.0.1: lift the per-address caps that would refuse them.
      MAX_VIEWERS_PER_IP: '1000000',
      VIEWER_CONNECTS_PER_MINUTE: '1000000',
      ...(bytesPerS === undefined ? {} : { VIEWER_BYTES_PER_S: bytesPerS }),
    }, startTimeoutMs: 120_000 });
  running.add(dev);
  const base = via === 'direct' ? (await dev.appEntryUrl()).replace(/^http/, 'ws') : dev.url.replace(/^http/, 'ws');
  const ingestUrl = `${base}/ingest`;
  const viewerUrl = `${base}/ws`;
  const source = new MemoryFleetSource();
  let forwarder: EdgeForwarder | undefined;
  let updater: NodeJS.Timeout | undefined;
  const children: IpcChild[] = [];
  const results: StepResult[] = [];
  try {
    let fleet = initialFleet(machines, Date.now());
    for (const m of fleet) source.set(m);
    // The hub's forwarder learns the shard count from the Worker and holds one socket per shard.
    forwarder = createEdgeForwarder({
      url: `${ingestUrl}?view=default`,
      apiKey: dev.hubToken,
      pushIntervalMs: 1000,
      // The default view's projection, as the hub's edge-views feeds each view's forwarder.
      source: viewMode === 'default' ? projectFleetSource(source, createViewProjector(BENCH_VIEW.view, 'fanout-bench-salt')) : source,
      log,
      // The relay serves the view "default" at /ws; its hub socket starts with the view's config frame.
      configFrame: () => JSON.stringify(viewMode === 'default' ? viewConfigFrame(BENCH_VIEW) : viewConfig('default')),
    });
    forwarder.start();
    const hubSide = forwarder;
    await waitUntil('a hub socket per shard', () => hubSide.stats().shardsConnected === shards, 60_000, 250);
    await waitUntil(
      'every relay to hold the fleet',
      async () => {
        const stats = await relayStats(dev.url, dev.hubToken);
        const relays = stats.filter((s) => s.role === 'relay');
        return relays.length === shards && relays.every((s) => s.machines === machines);
      },
      60_000,
      250,
    );
    // Change every machine once a second, half a push interval away from the forwarder's timer.
    await sleep(500);
    updater = setInterval(() => {
      const now = Date.now();
      fleet = fleet.map((m) => nextSecond(m, now));
      for (const m of fleet) source.set(m);
    }, 1000);

    const processes = deflate ? Math.min(4, Math.max(2, Math.ceil(Math.max(...viewerSteps) / VIEWERS_PER_PROCESS))) : viewerProcs;
    for (let i = 0; i < processes; i++) children.push(forkChild(deflate ? 'fanout-viewers.ts' : 'fanout-raw-viewers.ts'));
    let connected = 0;
    for (const target of viewerSteps) {
      // ---- bring the viewers up to `target`, spread over the processes ----
      const add = target - connected;
      const t0 = Date.now();
      if (add > 0) {
        const shares = children.map((_, i) => Math.floor(add / children.length) + (i < add % children.length ? 1 : 0));
        const opened = await Promise.all(
          children.map((c, i) => {
            if (shares[i] === 0) return Promise.resolve({ open: 0, failed: 0, extensions: [] as string[] });
            const reply = c.next<{ open: number; failed: number; extensions: string[] }>('opened');
            const laggards = Math.round((shares[i] * laggardPercent) / 100);
            if (deflate) c.send({ cmd: 'open', url: viewerUrl, count: shares[i], concurrency: 100, deflate } satisfies OpenViewers);
            else c.send({ cmd: 'open', url: viewerUrl, count: shares[i], concurrency: 100, laggards } satisfies OpenRawViewers);
            return reply;
          }),
        );
        const failed = opened.reduce((n, o) => n + o.failed, 0);
        connected += opened.reduce((n, o) => n + o.open, 0);
        const ext = [...new Set(opened.flatMap((o) => o.extensions))];
        console.log(`${connected} viewers connected (+${add} in ${Date.now() - t0} ms${failed ? `, ${failed} FAILED` : ''}; negotiated extensions: ${ext.length ? ext.join(', ') : 'none'})`);
      }
      const openMs = Date.now() - t0;
      const stats = await relayStats(dev.url, dev.hubToken);
      const atRelays = stats.filter((s) => s.role === 'relay').reduce((n, s) => n + s.viewers, 0);
      await sleep(2000); // two pushes to settle

      // ---- the window ----
      await Promise.all(children.map((c) => (c.send({ cmd: 'begin' }), c.next('begun'))));
      const relayBefore = await relayStats(dev.url, dev.hubToken);
      const cpu0 = dev.workerdCpuSeconds();
      const viewerCpu0 = children.reduce((n, c) => n + (treeUsage(c.pid)?.cpuSeconds ?? 0), 0);
      // A push's ts is Date.now() inside the forwarder's timer, which cannot run between these reads:
      // the pushes of the window are exactly those with windowStart ≤ ts ≤ windowEnd.
      const windowStart = Date.now();
      const hub0 = forwarder.stats();
      let peakRss = dev.workerdRssBytes();
      for (let t = 0; t < pushes * 2; t++) {
        await sleep(500);
        peakRss = Math.max(peakRss, dev.workerdRssBytes());
        const available = memAvailable();
        if (available < MIN_AVAILABLE_BYTES) throw new Error(`available memory fell to ${(available / 1024 ** 3).toFixed(1)} GB (workerd RSS ${(peakRss / 1024 ** 2).toFixed(0)} MB): aborting the run`);
      }
      const hub1 = forwarder.stats();
      const windowEnd = Date.now();
      const cpu1 = dev.workerdCpuSeconds();
      const viewerCpu1 = children.reduce((n, c) => n + (treeUsage(c.pid)?.cpuSeconds ?? 0), 0);
      const windowS = (Date.now() - windowStart) / 1000;
      await sleep(3000); // late receipts of the last pushes still count
      const ended = await Promise.all(children.map((c) => (c.send({ cmd: 'end' }), c.next<ViewersEnded & { laggards?: LaggardCounts; diagnostics?: RawViewerDiagnostics }>('ended'))));
      const lagCounts = ended.every((e) => e.laggards !== undefined)
        ? ended.map((e) => e.laggards!).reduce((a, b) => ({
            laggards: a.laggards + b.laggards,
            lagged: a.lagged + b.lagged,
            closedSlow: a.closedSlow + b.closedSlow,
            normalLagged: a.normalLagged + b.normalLagged,
            normalClosed: a.normalClosed + b.normalClosed,
            normalBytes: a.normalBytes + b.normalBytes,
            normalViewers: a.normalViewers + b.normalViewers,
          }))
        : null;
      const relayAfter = await relayStats(dev.url, dev.hubToken);
      const normalViewers = lagCounts?.normalViewers ?? connected;

      const inWindow = (ts: number) => ts >= windowStart && ts <= windowEnd;
      const latencies: number[] = [];
      let received = 0;
      const framesSent = new Set<number>();
      for (const e of ended) {
        for (const [ts, list] of e.byTs) {
          if (!inWindow(ts)) continue;
          framesSent.add(ts);
          received += list.length;
          for (const l of list) latencies.push(l);
        }
      }
      // With the byte allowance (VIEWER_BYTES_PER_S) pushes that do not fit are merged into one later
      // frame: then every viewer must get every frame the relays sent (the same on every shard: they
      // decide in the hub's time), else every push.
      const coalescedOf = (list: typeof relayBefore) => list.filter((x) => x.role === 'relay').reduce((n, x) => n + (x.deltasCoalesced ?? 0), 0);
      const coalesced = (coalescedOf(relayAfter) - coalescedOf(relayBefore)) / shards;
      const frames = ended.flatMap((e) => e.frames).filter(([ts]) => inWindow(ts));
      const frameBytes = frames.reduce((n, f) => n + f[1], 0);
      const frameUpdates = frames.reduce((n, f) => n + f[2], 0);
      const frameFields = frames.reduce((n, f) => n + f[3], 0);
      const payload = ended.reduce((n, e) => n + e.payloadBytes, 0);
      const wire = ended.reduce((n, e) => n + e.wireBytes, 0);
      // Every shard's socket gets the same frames: shard 0's count is the pushes.
      const sentOn = (i: number) => (hub1.shardLinks[i]?.deltasSent ?? 0) - (hub0.shardLinks[i]?.deltasSent ?? 0);
      const pushesInWindow = sentOn(0);
      const r: StepResult = {
        machines,
        kbPerViewerS: (lagCounts ? lagCounts.normalBytes / Math.max(1, lagCounts.normalViewers) : payload / Math.max(1, connected)) / windowS / 1000,
        workerdPeakRssMb: peakRss / 1024 ** 2,
        laggards: lagCounts,
        relayPaused: relayAfter.filter((s) => s.role === 'relay').reduce((n, s) => n + s.viewersPaused, 0),
        relayClosedSlow: relayAfter.filter((s) => s.role === 'relay').reduce((n, s) => n + s.viewersClosedSlow, 0),
        hubSocketDrops: hub1.disconnects - hub0.disconnects,
        shards,
        deflate,
        via,
        loopDelayP99Ms: Math.max(0, ...ended.map((e) => e.diagnostics?.loopDelayP99Ms ?? 0)),
        loopDelayMaxMs: Math.max(0, ...ended.map((e) => e.diagnostics?.loopDelayMaxMs ?? 0)),
        closeCauses: ended.reduce<Record<string, number>>((all, e) => {
          for (const [k, n] of Object.entries(e.diagnostics?.closeCauses ?? {})) all[k] = (all[k] ?? 0) + n;
          return all;
        }, {}),
        viewers: target,
        connected: atRelays,
        openMs,
        pushes: pushesInWindow,
        latency: summarize(latencies),
        // Shard i's viewers get what shard i's socket got (a shard that was cut off misses pushes).
        expected: coalesced > 0
          ? framesSent.size * normalViewers
          : shards > 1 && hub1.shardLinks.some((_, i) => sentOn(i) !== pushesInWindow)
            ? hub1.shardLinks.reduce((n, _, i) => n + sentOn(i) * (relayAfter.find((x) => x.name === `view:default:${i}`)?.viewers ?? 0), 0)
            : pushesInWindow * normalViewers,
        framesPerPush: framesSent.size / Math.max(1, pushesInWindow),
        received,
        bytesPerMachine: frameUpdates > 0 ? frameBytes / frameUpdates : Number.NaN,
        fieldsPerUpdate: frameUpdates > 0 ? frameFields / frameUpdates : Number.NaN,
        // Every viewer gets the same frames: socket bytes per viewer per changed machine.
        wireBytesPerMachine: frameUpdates > 0 && payload > 0 ? ((frameBytes / frameUpdates) * wire) / payload : Number.NaN,
        // Every hub socket together (per shard: the hub sends each push once per shard).
        hubBytesPerMachine: (hub1.bytesSent - hub0.bytesSent) / Math.max(1, pushesInWindow * machines),
        workerdCpuS: cpu1 - cpu0,
        workerdCpuPercent: (100 * (cpu1 - cpu0)) / windowS,
        viewerCpuPercent: (100 * (viewerCpu1 - viewerCpu0)) / windowS,
        windowS,
      };
      results.push(r);
      console.log(
        `[${machines} machines, shards ${shards}, deflate ${deflate ? 'on' : 'off'}, ${target} viewers] ${fmt(r.kbPerViewerS, 1)} KB/s per viewer; workerd peak RSS ${fmt(r.workerdPeakRssMb, 0)} MB; ` +
          (lagCounts && lagCounts.laggards > 0 ? `laggards ${lagCounts.laggards}: ${lagCounts.lagged} paused, ${lagCounts.closedSlow} closed 4408; ` : '') +
          `relay paused ${r.relayPaused} / closed ${r.relayClosedSlow} viewers in all${lagCounts ? ` (normal viewers paused ${lagCounts.normalLagged}, closed ${lagCounts.normalClosed})` : ''}; ` +
          `push→receipt p50 ${fmt(r.latency.p50, 0)} ms, p99 ${fmt(r.latency.p99, 0)} ms, max ${fmt(r.latency.max, 0)} ms; ` +
          `${r.received}/${r.expected} deliveries (${fmt(r.framesPerPush, 2)} frames per push); ${fmt(r.bytesPerMachine, 1)} B per changed machine in frames (${fmt(r.wireBytesPerMachine, 1)} on the socket, ${fmt(r.hubBytesPerMachine, 1)} hub→relay); ` +
          `workerd CPU ${fmt(r.workerdCpuPercent, 0)}%, viewer processes CPU ${fmt(r.viewerCpuPercent, 0)}%; ` +
          `viewer event loop delay p99 ${fmt(r.loopDelayP99Ms, 0)} ms, max ${fmt(r.loopDelayMaxMs, 0)} ms; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}` +
          (Object.keys(r.closeCauses).length ? `; normal viewers closed: ${JSON.stringify(r.closeCauses)}` : ''),
      );
    }
  } finally {
    clearInterval(updater);
    await Promise.all(children.map((c) => c.close({ cmd: 'close' })));
    await forwarder?.close();
    await dev.stop();
    running.delete(dev);
  }
  return results;
}

async function main(): Promise<void> {
  console.log(`fan-out: ${machineCounts.join(", ")} machines changing every second, 1 push/s, ${pushes} pushes per step; viewers ${viewerSteps.join(' → ')}; RELAY_SHARDS ${shardConfigs.join(', ')}; permessage-deflate ${deflateModes.map((d) => (d ? 'on' : 'off')).join(', ')}${args.quick ? ' (quick)' : ''}`);
  const log = pino({ level: 'warn' });
  const results: StepResult[] = [];
  for (const via of viaModes) for (const deflate of deflateModes) for (const machines of machineCounts) for (const shards of shardConfigs) results.push(...(await runConfig(machines, shards, deflate, via, log)));

  const table = results.map((r) => ({
    machines: r.machines,
    'RELAY_SHARDS': r.shards,
    deflate: r.deflate ? 'on' : 'off',
    via: r.via,
    viewers: r.viewers,
    'at the relays': r.connected,
    pushes: r.pushes,
    'push→receipt p50 ms': fmt(r.latency.p50, 0),
    'p99 ms': fmt(r.latency.p99, 0),
    'max ms': fmt(r.latency.max, 0),
    'deliveries (got/expected)': `${r.received}/${r.expected}`,
    'frames/push': fmt(r.framesPerPush, 2),
    'B/changed machine (frame)': fmt(r.bytesPerMachine, 1),
    'B/changed machine (socket)': fmt(r.wireBytesPerMachine, 1),
    'hub→relay B/changed machine': fmt(r.hubBytesPerMachine, 1),
    'fields/update': fmt(r.fieldsPerUpdate, 1),
    'workerd CPU % (s)': `${fmt(r.workerdCpuPercent, 0)} (${fmt(r.workerdCpuS, 1)})`,
    'viewer procs CPU %': fmt(r.viewerCpuPercent, 0),
    'viewer loop delay p99/max ms': `${fmt(r.loopDelayP99Ms, 0)}/${fmt(r.loopDelayMaxMs, 0)}`,
    'KB/s per viewer': fmt(r.kbPerViewerS, 1),
    'workerd peak RSS MB': fmt(r.workerdPeakRssMb, 0),
    ...(laggardPercent > 0 ? { 'laggards paused/closed (of)': r.laggards ? `${r.laggards.lagged}/${r.laggards.closedSlow} (${r.laggards.laggards})` : '—' } : {}),
    'normal viewers paused/closed': r.laggards ? `${r.laggards.normalLagged}/${r.laggards.normalClosed}` : '—',
    'hub socket drops': r.hubSocketDrops,
  }));
  console.log('');
  console.table(table);

  const atTarget = results.filter((r) => r.viewers === TARGET_VIEWERS);
  const worstP99 = atTarget.length ? Math.max(...atTarget.map((r) => r.latency.p99)) : Number.NaN;
  const worstBytes = Math.max(...results.map((r) => r.bytesPerMachine));
  const complete = results.every((r) => r.received === r.expected);
  const kbSteps = results.filter((r) => r.machines === 1000);
  const worstKb = kbSteps.length ? Math.max(...kbSteps.map((r) => r.kbPerViewerS)) : Number.NaN;
  const targets = [
    {
      target: `p99 push → receipt < ${TARGET_P99_MS} ms at ${TARGET_VIEWERS.toLocaleString('en')} viewers`,
      measured: atTarget.length ? atTarget.map((r) => `${fmt(r.latency.p99, 0)} ms (RELAY_SHARDS=${r.shards}, deflate ${r.deflate ? 'on' : 'off'})`).join(', ') : `no ${TARGET_VIEWERS}-viewer step in this run`,
      result: verdict(atTarget.length ? worstP99 < TARGET_P99_MS : undefined),
    },
    { target: `≤ ${TARGET_BYTES} bytes per changed machine in a delta`, measured: `${fmt(worstBytes, 1)} B in the frame (largest of the steps)`, result: verdict(worstBytes <= TARGET_BYTES) },
    { target: 'every viewer gets every push', measured: complete ? 'yes' : 'NO (see deliveries)', result: verdict(complete) },
    {
      target: `≤ ${TARGET_KB_PER_VIEWER} KB/s per viewer for 1,000 machines (${viewMode === 'default' ? 'default view settings' : 'raw fleet, no view'})`,
      measured: kbSteps.length ? `${fmt(worstKb, 1)} KB/s (largest of the steps)` : 'no 1,000-machine step',
      result: verdict(kbSteps.length ? worstKb <= TARGET_KB_PER_VIEWER : undefined),
    },
  ];
  console.table(targets);

  const body = [
    `wrangler dev (workerd) on 127.0.0.1; hub side: the hub's edge forwarder over ${machineCounts.join(' and ')} machines that all change every second, one push a second, ${viewMode === 'default' ? 'through the default public view (card metrics, whole percentages)' : 'the raw fleet (every metric, unrounded)'};`,
    `Viewers and the hub connect ${viaModes.map((v) => (v === 'direct' ? "directly to the workerd that runs the Worker and its objects (\"via direct\": not through `wrangler dev`'s proxy workerd, a hop production does not have)" : "to `wrangler dev`'s port (\"via proxy\": its proxy workerd relays every frame once more)")).join('; then ')}.`,
    'Hub side with RELAY_SHARDS > 1: the forwarder learns the shard count from the Worker (X-Relay-Shards) and holds one socket per shard (`/ingest?view=default&shard=i`, no coordinator).',
    `VIEWER_BYTES_PER_S ${bytesPerS ?? 'as in wrangler.toml (7000)'}: pushes whose delta does not fit are merged into one later frame ("frames/push" < 1; deliveries then count the frames the relays sent, latency is push → receipt of the frame).`,
    `${pushes} pushes measured per step after the viewers connected. Viewers: ${deflateModes.map((d) => (d ? '`ws` clients offering permessage-deflate' : `lean raw sockets in ${viewerProcs} processes (no permessage-deflate; the receipt time is taken when a socket read reaches the process, before parsing)`)).join(', then ')}, acknowledging what they read like the dashboard${laggardPercent > 0 ? `; ${laggardPercent} % of them read at a tenth of the speed (deliveries and latency count the others)` : ''}.`,
    'push → receipt = receipt time at the viewer − the delta\'s ts (the forwarder\'s push time, same clock). "frame" bytes = delta text ÷ machines in it; "socket" = bytes read from the viewer sockets ÷ machines (WebSocket framing, and compression when negotiated).',
    '',
    markdownTable(table),
    '',
    '**Targets**',
    '',
    markdownTable(targets),
  ].join('\n');
  writeResultsSection({ name: 'fanout', body, quick: args.quick, command: commandLine() });
}

await main();
