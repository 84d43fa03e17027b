// Benchmark 2 — hub ingest on this machine with the local PostgreSQL and Redis. A real hub (startHub,
// in its own process: bench/hub-child.ts) with REDIS_URL under a unique key prefix and TIMESCALE_URL on
// a fresh database (dropped afterwards), fed by simulated collectors over real gRPC/HTTP2
// (bench/ingest-load-worker.ts: 100 streams per HTTP/2 connection, shared out over worker processes).
// Steps: 100, 1,000, 10,000 streams at 1 Hz (quick: 10, 100), then unthrottled (as fast as acks allow,
// a bounded window of unacked reports per stream, bounded in time and count). For each step:
// sustained reports/s acked, rows/s into history, receipt → publish p50/p99 (Redis stream id time −
// the event's receivedAtMs, read by bench/event-observer.ts), hub CPU and memory, and loss: every
// report sent must be acked and be in the table exactly once.
// The limit in the same run: the same number of rows bulk-loaded straight into the same table with the
// hub's own batch statement (HistoryStore.write) and with COPY (psql); reported as hub rows/s ÷ raw rows/s.
// Targets: ≥ 10,000 reports/s sustained with zero loss; ≥ half the raw bulk rate; p99 receipt →
// publish < 50 ms at 1,000 collectors × 1 Hz. A missed target starts a profiling pass (node --cpu-prof
// on a fresh hub process) whose top frames are written down.
// Run: node bench/hub-ingest.ts [--steps 100,1000,10000] [--step-seconds 60] [--warmup 10]
//      [--max-streams 100] [--max-window 200] [--max-seconds 60] [--max-reports 2000000]
//      [--workers N] [--profile | --no-profile] [--profile-seconds 30] [--profile-rate N]  (--quick: small)
//      [--hub-processes N]  (HUB_PROCESSES of the hub: N processes sharing its ports; RSS and CPU are summed over them)
//      [--slot-ms 1]  (1 Hz steps: each stream sends at its own millisecond of the second, as collectors with their
//      own clocks do; 10 groups ten streams of a 1,000-stream step into each 10 ms slot, as runs before 2026-12-02 did)
//      (--profile-rate N: the profiling pass runs N streams × 1 Hz instead of the load that missed)
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestDatabase, REDIS_URL, tempDir } from '../test/support/servers.ts';
import { summarizeCpuProfile, type CpuProfile } from './cpu-profile.ts';
import { EventObserver } from './event-observer.ts';
import { startHubProcess, type HubProcess } from './hub-process.ts';
import { startLoad, type LoadCounters, type RunOutcome } from './ingest-load.ts';
import { treeUsage } from './process-usage.ts';
import { histogramQuantile, parseHistograms, subtractHistogram, type Histogram } from './prom-histogram.ts';
import { copyRows, insertRows, makeRows, type LoadTiming } from './raw-load.ts';
import {
  commandLine,
  fmt,
  formatBytes,
  listFlag,
  markdownTable,
  numberFlag,
  parseBenchArgs,
  ratio,
  REPO_ROOT,
  sleep,
  summarize,
  verdict,
  writeResultsSection,
  type LatencySummary,
} from './results.ts';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const steps = listFlag(args, 'steps', [100, 1000, 10_000], [10, 100]);
const stepSeconds = numberFlag(args, 'step-seconds', 60, 10);
const warmupSeconds = numberFlag(args, 'warmup', 10, 3);
const maxStreams = numberFlag(args, 'max-streams', 100, 20);
const maxWindow = numberFlag(args, 'max-window', 200, 100);
const maxSeconds = numberFlag(args, 'max-seconds', 60, 12);
const maxReports = numberFlag(args, 'max-reports', 2_000_000, 100_000);
const profileSeconds = numberFlag(args, 'profile-seconds', 30, 8);
const workersFlag = args.flags.workers === undefined ? undefined : numberFlag(args, 'workers', 1, 1);
const hubProcesses = numberFlag(args, 'hub-processes', 1, 1);
const slotMs = numberFlag(args, 'slot-ms', 1, 1);
/** Before a step: how long the hub may take to work off what the previous step left (history backlog, Redis resync). */
const SETTLE_TIMEOUT_MS = 90_000;
const STREAMS_PER_WORKER = 2500;
const MAX_AUTO_WORKERS = 4;
const TARGET_REPORTS_PER_S = 10_000;
const TARGET_P99_MS = 50;
const TARGET_STEP = 1000;
/** At TARGET_STEP collectors × 1 Hz the hub may use at most this share of one core (0.2 ms of CPU per report). */
const TARGET_CPU_PERCENT = 20;
/** The 10,000 × 1 Hz step: zero loss within this hub RSS. */
const TARGET_BIG_STEP = 10_000;
const TARGET_BIG_RSS_BYTES = 1.5 * 2 ** 30;

const workersFor = (streams: number) => workersFlag ?? Math.min(MAX_AUTO_WORKERS, Math.max(1, Math.ceil(streams / STREAMS_PER_WORKER)));

/** The hub requires a collector token once hub/config.ts knows COLLECTOR_TOKEN; the load generators then send it. */
function collectorToken(): string | undefined {
  const source = readFileSync(path.join(REPO_ROOT, 'hub/config.ts'), 'utf8');
  return source.includes('COLLECTOR_TOKEN') ? 'bench-collector-token-0123456789' : undefined;
}

interface Boundary {
  atMs: number;
  load: LoadCounters;
  rows: number;
  hubCpuS: number;
  hubRssBytes: number;
  hubHeapBytes: number;
  elu: { idle: number; active: number };
  redis: RedisStateCounters | undefined;
  accepted: number;
  genCpuS: number;
  histograms: Map<string, Histogram> | undefined;
}

interface RedisStateCounters {
  failedWrites: number;
  slowReplies: number;
  outages: number;
  resyncBatches: number;
  resyncedMachines: number;
  pendingResync: number;
}

interface StepResult {
  label: string;
  /** Seconds the hub took, before the step, to work off the previous step's backlog. */
  settleS: number;
  /** The hub's Redis state store during the step (failed writes, slow replies, outages, resync batches). */
  redis: RedisStateCounters | undefined;
  streams: number;
  mode: 'rate' | 'max';
  workers: number;
  openMs: number;
  windowS: number;
  offeredPerS: number;
  sentPerS: number;
  ackedPerS: number;
  rowsPerS: number;
  publish: LatencySummary;
  deliver: LatencySummary;
  hubCpuPercent: number;
  hubCpuMsPerReport: number;
  hubElu: number;
  hubRssBytes: number;
  hubHeapBytes: number;
  genCpuPercent: number;
  lateSends: number;
  sent: number;
  acked: number;
  rowsInDb: number;
  distinctInDb: number;
  rejected: number;
  streamErrors: number;
  errors: string[];
  zeroLoss: boolean;
  hubHistograms: Array<{ name: string; p50: string; p99: string; count: number }>;
}

async function scrapeHistograms(hub: HubProcess): Promise<Map<string, Histogram> | undefined> {
  try {
    const res = await fetch(`${hub.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const all = parseHistograms(await res.text());
    return new Map([...all].filter(([name]) => /ingest|publish|receipt|history_write/i.test(name)));
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const runTag = randomBytes(3).toString('hex');
  const redisPrefix = `sysmonstm-bench:${runTag}:`;
  const token = collectorToken();
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const dir = tempDir('bench-ingest');
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', () => {});
  const observer = new EventObserver(REDIS_URL, `${redisPrefix}events`);
  const hubEnv = (dataDir: string): Record<string, string> => ({
    REDIS_URL,
    TIMESCALE_URL: db.url,
    DATA_DIR: dataDir,
    MAX_MACHINES: '200000',
    HUB_PROCESSES: String(hubProcesses),
    ...(token ? { COLLECTOR_TOKEN: token } : {}),
  });
  let hub: HubProcess | undefined;
  const results: StepResult[] = [];
  let raw: { insert: LoadTiming; copy: LoadTiming } | undefined;
  let profileText = '';
  console.log(
    `hub ingest: steps ${steps.join(', ')} streams at 1 Hz (sends in ${slotMs} ms slots; ${warmupSeconds} s warm-up + ${stepSeconds} s each), then unthrottled ${maxStreams} streams × window ${maxWindow} for ${maxSeconds} s (≤ ${maxReports} reports)${args.quick ? ' (quick)' : ''}`,
  );
  try {
    hub = await startHubProcess({ env: hubEnv(path.join(dir.path, 'hub')), redisPrefix });
    console.log(`hub pid ${hub.pid}: gRPC ${hub.grpcUrl}, state ${hub.ready.stateKind}, history ${hub.ready.historyPath}${token ? ', collector token on' : ''}`);
    observer.start();
    const theHub = hub;

    const countRows = async (prefix: string) => {
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM metrics WHERE machine_id LIKE $1`, [`${prefix}%`]);
      return Number(rows[0].n);
    };

    async function boundary(prefix: string, genPids: number[], load: { snapshot(): Promise<LoadCounters> }): Promise<Boundary> {
      const [counters, rows, stats, histograms] = await Promise.all([load.snapshot(), countRows(prefix), theHub.stats(), scrapeHistograms(theHub)]);
      const hubTree = treeUsage(theHub.pid);
      const genCpuS = genPids.reduce((n, pid) => n + (treeUsage(pid)?.cpuSeconds ?? 0), 0);
      return {
        atMs: Date.now(),
        load: counters,
        rows,
        hubCpuS: hubTree?.cpuSeconds ?? Number.NaN,
        hubRssBytes: stats.memory.rss,
        hubHeapBytes: stats.memory.heapUsed,
        elu: stats.elu,
        redis: stats.hub.redis as RedisStateCounters | undefined,
        accepted: Number((stats.hub.ingest as { reportsAccepted?: number } | undefined)?.reportsAccepted ?? Number.NaN),
        genCpuS,
        histograms,
      };
    }

    /**
     * Waits until the hub has written every history row it holds and has no Redis resync pending (a
     * 10,000-stream step leaves a backlog that otherwise delays the next step's Hellos past their
     * deadline). Bounded; returns the seconds it took.
     */
    async function settle(label: string): Promise<number> {
      const started = Date.now();
      for (;;) {
        const s = await theHub.stats();
        const pendingRows = Number((s.hub.history as { pendingRows?: number } | undefined)?.pendingRows ?? 0);
        const redis = s.hub.redis as { pendingResync?: number; resyncing?: boolean } | undefined;
        const quiet = pendingRows === 0 && !(redis?.pendingResync ?? 0) && !redis?.resyncing;
        if (quiet) break;
        if (Date.now() - started > SETTLE_TIMEOUT_MS) {
          console.log(`[${label}] the hub did not settle within ${SETTLE_TIMEOUT_MS / 1000} s (history rows pending ${pendingRows}, Redis resync pending ${redis?.pendingResync ?? 0}); starting anyway`);
          break;
        }
        await sleep(500);
      }
      const s = (Date.now() - started) / 1000;
      if (s >= 1) console.log(`[${label}] the hub took ${s.toFixed(1)} s to work off the previous step's backlog`);
      return s;
    }

    async function runStep(label: string, streams: number, mode: 'rate' | 'max', targetHub: HubProcess): Promise<StepResult> {
      const prefix = `b${runTag}-${label}-`;
      const settleS = await settle(label);
      const workers = workersFor(mode === 'max' ? Math.max(streams, 2 * STREAMS_PER_WORKER) : streams);
      const load = await startLoad({ hubUrl: targetHub.grpcUrl, idPrefix: prefix, streams, workers, headers });
      console.log(`\n[${label}] ${streams} streams open on ${workers} worker(s) in ${load.opened.ms} ms`);
      const durationS = mode === 'rate' ? warmupSeconds + stepSeconds : maxSeconds;
      const warmS = mode === 'rate' ? warmupSeconds : Math.min(warmupSeconds, maxSeconds / 4);
      const { startAtMs, done } = load.run({
        mode,
        periodMs: 1000,
        window: maxWindow,
        durationMs: durationS * 1000,
        maxReportsPerStream: mode === 'max' ? Math.ceil(maxReports / streams) : Number.MAX_SAFE_INTEGER,
        drainTimeoutMs: 60_000,
        slotMs,
      });
      let outcome: RunOutcome | undefined;
      const finished = done.then((o) => (outcome = o));
      await sleep(Math.max(0, startAtMs + warmS * 1000 - Date.now()));
      const a = await boundary(prefix, load.pids, load);
      observer.begin();
      // The window closes at the planned end, or earlier when a max run used up its report budget.
      const endAtMs = startAtMs + durationS * 1000 - 100;
      while (Date.now() < endAtMs && !outcome) {
        const snap = mode === 'max' ? await load.snapshot() : undefined;
        if (snap && snap.sent >= maxReports) break;
        await Promise.race([sleep(Math.min(1000, Math.max(0, endAtMs - Date.now()))), finished]);
      }
      const b = await boundary(prefix, load.pids, load);
      const latencies = observer.end();
      await finished;
      const o = outcome!;
      await load.close();
      const { rows } = await pool.query<{ n: string; d: string }>(
        `SELECT count(*) AS n, count(DISTINCT (machine_id, seq)) AS d FROM metrics WHERE machine_id LIKE $1`,
        [`${prefix}%`],
      );
      const rowsInDb = Number(rows[0].n);
      const distinctInDb = Number(rows[0].d);
      const dt = (b.atMs - a.atMs) / 1000;
      const c = o.drained;
      const zeroLoss = c.sent === c.acked && rowsInDb === c.sent && distinctInDb === rowsInDb && c.rejected === 0 && c.streamErrors === 0;
      const hubHistograms: StepResult['hubHistograms'] = [];
      for (const [name, later] of b.histograms ?? []) {
        const h = subtractHistogram(later, a.histograms?.get(name));
        const scale = name.endsWith('_seconds') ? 1000 : 1;
        hubHistograms.push({ name, p50: fmt(histogramQuantile(h, 0.5) * scale, 2), p99: fmt(histogramQuantile(h, 0.99) * scale, 2), count: h.count });
      }
      const eluWindow = (b.elu.active - a.elu.active) / (b.elu.active - a.elu.active + b.elu.idle - a.elu.idle);
      const redisDelta = b.redis && a.redis
        ? {
            failedWrites: b.redis.failedWrites - a.redis.failedWrites,
            slowReplies: b.redis.slowReplies - a.redis.slowReplies,
            outages: b.redis.outages - a.redis.outages,
            resyncBatches: b.redis.resyncBatches - a.redis.resyncBatches,
            resyncedMachines: b.redis.resyncedMachines - a.redis.resyncedMachines,
            pendingResync: b.redis.pendingResync,
          }
        : undefined;
      const r: StepResult = {
        label,
        settleS,
        redis: redisDelta,
        streams,
        mode,
        workers,
        openMs: load.opened.ms,
        windowS: dt,
        offeredPerS: mode === 'rate' ? streams : Number.NaN,
        sentPerS: (b.load.sent - a.load.sent) / dt,
        ackedPerS: (b.load.acked - a.load.acked) / dt,
        rowsPerS: (b.rows - a.rows) / dt,
        publish: summarize(latencies.publishMs),
        deliver: summarize(latencies.deliverMs),
        hubCpuPercent: (100 * (b.hubCpuS - a.hubCpuS)) / dt,
        hubCpuMsPerReport: (1000 * (b.hubCpuS - a.hubCpuS)) / Math.max(1, b.accepted - a.accepted),
        hubElu: eluWindow,
        hubRssBytes: b.hubRssBytes,
        hubHeapBytes: b.hubHeapBytes,
        genCpuPercent: (100 * (b.genCpuS - a.genCpuS)) / dt,
        lateSends: c.lateSends,
        sent: c.sent,
        acked: c.acked,
        rowsInDb,
        distinctInDb,
        rejected: c.rejected,
        streamErrors: c.streamErrors,
        errors: c.firstErrors,
        zeroLoss,
      hubHistograms,
      };
      console.log(
        `[${label}] window ${dt.toFixed(1)} s: sent ${fmt(r.sentPerS, 0)}/s, acked ${fmt(r.ackedPerS, 0)}/s, rows ${fmt(r.rowsPerS, 0)}/s; ` +
          `receipt→publish p50 ${fmt(r.publish.p50, 0)} ms p99 ${fmt(r.publish.p99, 0)} ms (${r.publish.count} events); hub CPU ${fmt(r.hubCpuPercent, 0)}%, ELU ${fmt(100 * r.hubElu, 0)}%, RSS ${formatBytes(r.hubRssBytes)}; ` +
          `generators CPU ${fmt(r.genCpuPercent, 0)}%, late sends ${r.lateSends}; sent ${c.sent}, acked ${c.acked}, in history ${rowsInDb} (distinct ${distinctInDb}), rejected ${c.rejected}, stream errors ${c.streamErrors} → ${zeroLoss ? 'zero loss' : 'LOSS OR ERRORS'}`,
      );
      if (redisDelta) console.log(`[${label}] Redis state in the window: failed writes ${redisDelta.failedWrites}, slow replies ${redisDelta.slowReplies}, outages ${redisDelta.outages}, resync batches ${redisDelta.resyncBatches} (${redisDelta.resyncedMachines} machines), pending at the end ${redisDelta.pendingResync}`);
      if (c.firstErrors.length) console.log(`[${label}] first errors: ${c.firstErrors.join(' | ')}`);
      if (dt < 2) console.log(`[${label}] the window was only ${dt.toFixed(1)} s: too short for a rate (raise --max-reports or --step-seconds)`);
      return r;
    }

    for (const n of steps) results.push(await runStep(`rate${n}`, n, 'rate', hub));
    const unthrottled = await runStep(`max${maxStreams}`, maxStreams, 'max', hub);
    results.push(unthrottled);

    // ---- the limit: the same number of rows straight into the same table ----
    const rawCount = unthrottled.rowsInDb;
    if (rawCount > 0) {
      console.log(`\nraw bulk load of ${rawCount} rows into the same table ...`);
      const startMs = Date.now() - 3_600_000;
      const insertRowsList = makeRows(`b${runTag}-rawinsert-`, maxStreams, rawCount, startMs);
      const insert = await insertRows(db.url, insertRowsList);
      console.log(`HistoryStore.write (the hub's statement, 1000 rows each): ${fmt(insert.rowsPerSecond, 0)} rows/s (${fmt(insert.ms / 1000, 1)} s)`);
      const copyRowsList = makeRows(`b${runTag}-rawcopy-`, maxStreams, rawCount, startMs);
      const copy = await copyRows(db.url, copyRowsList);
      console.log(`COPY FROM STDIN (psql): ${fmt(copy.rowsPerSecond, 0)} rows/s (${fmt(copy.ms / 1000, 1)} s)`);
      for (const [name, expected] of [['rawinsert', insert.rows], ['rawcopy', copy.rows]] as const) {
        const got = await countRows(`b${runTag}-${name}-`);
        if (got !== expected) throw new Error(`raw ${name}: expected ${expected} rows in the table, found ${got}`);
      }
      raw = { insert, copy };
    }

    // ---- targets ----
    const bestRaw = raw ? Math.max(raw.insert.rowsPerSecond, raw.copy.rowsPerSecond) : Number.NaN;
    const best = results.filter((r) => r.zeroLoss).reduce((m, r) => Math.max(m, r.ackedPerS), 0);
    const latencyStep = results.find((r) => r.mode === 'rate' && r.streams === TARGET_STEP);
    const bigStep = results.find((r) => r.mode === 'rate' && r.streams === TARGET_BIG_STEP);
    const targets = [
      {
        target: `≥ ${TARGET_REPORTS_PER_S.toLocaleString('en')} reports/s sustained with zero loss`,
        measured: `${fmt(best, 0)} reports/s (best zero-loss step)`,
        ok: best >= TARGET_REPORTS_PER_S,
      },
      {
        target: '≥ half the raw bulk rate (hub rows/s ÷ best raw rows/s ≥ 0.5)',
        measured: `${fmt(unthrottled.rowsPerS, 0)} ÷ ${fmt(bestRaw, 0)} = ${fmt(ratio(unthrottled.rowsPerS, bestRaw), 2)}`,
        ok: raw ? ratio(unthrottled.rowsPerS, bestRaw) >= 0.5 : undefined,
      },
      {
        target: `p99 receipt → publish < ${TARGET_P99_MS} ms at ${TARGET_STEP.toLocaleString('en')} collectors × 1 Hz`,
        measured: latencyStep ? `${fmt(latencyStep.publish.p99, 0)} ms` : `no ${TARGET_STEP}-stream step in this run`,
        ok: latencyStep ? latencyStep.publish.p99 < TARGET_P99_MS : undefined,
      },
      {
        target: `hub CPU ≤ ${TARGET_CPU_PERCENT} % of a core at ${TARGET_STEP.toLocaleString('en')} collectors × 1 Hz`,
        measured: latencyStep ? `${fmt(latencyStep.hubCpuPercent, 0)} % (${fmt(latencyStep.hubCpuMsPerReport, 3)} ms per report)` : `no ${TARGET_STEP}-stream step in this run`,
        ok: latencyStep ? latencyStep.hubCpuPercent <= TARGET_CPU_PERCENT : undefined,
      },
      {
        target: `${TARGET_BIG_STEP.toLocaleString('en')} collectors × 1 Hz: zero loss, hub RSS ≤ ${formatBytes(TARGET_BIG_RSS_BYTES)}`,
        measured: bigStep
          ? `${bigStep.zeroLoss ? 'zero loss' : `LOSS OR ERRORS (sent ${bigStep.sent}, acked ${bigStep.acked}, in history ${bigStep.rowsInDb}, stream errors ${bigStep.streamErrors})`}, acked ${fmt(bigStep.ackedPerS, 0)}/s, RSS ${formatBytes(bigStep.hubRssBytes)}`
          : `no ${TARGET_BIG_STEP}-stream step in this run`,
        ok: bigStep ? bigStep.zeroLoss && bigStep.hubRssBytes <= TARGET_BIG_RSS_BYTES : undefined,
      },
      {
        target: "(for reference) the hub's history write path alone ÷ COPY",
        measured: raw ? `${fmt(raw.insert.rowsPerSecond, 0)} ÷ ${fmt(raw.copy.rowsPerSecond, 0)} = ${fmt(ratio(raw.insert.rowsPerSecond, raw.copy.rowsPerSecond), 2)}` : 'no raw load in this run',
        ok: undefined,
      },
    ];
    const missed = targets.some((t) => t.ok === false);

    // ---- profile where a target is missed ----
    if ((missed || args.flags.profile === true) && args.flags['no-profile'] !== true) {
      await hub.close();
      hub = undefined;
      // --profile-rate N: profile under N streams × 1 Hz whatever was missed.
      const profileRate = args.flags['profile-rate'] === undefined ? undefined : numberFlag(args, 'profile-rate', TARGET_STEP, TARGET_STEP);
      const throughputMissed = profileRate === undefined && (targets[0].ok === false || targets[1].ok === false);
      const profileDir = path.join(REPO_ROOT, 'test-output', 'bench');
      mkdirSync(profileDir, { recursive: true });
      const profiled = await startHubProcess({ env: hubEnv(path.join(dir.path, 'hub-prof')), redisPrefix, cpuProfileDir: profileDir });
      hub = profiled;
      const streams = throughputMissed ? maxStreams : (profileRate ?? Math.max(...steps.filter((s) => s <= TARGET_STEP)));
      console.log(`\nprofiling the hub (node --cpu-prof) under ${throughputMissed ? `the unthrottled load (${streams} streams)` : `${streams} streams × 1 Hz`} for ${profileSeconds} s ...`);
      const load = await startLoad({ hubUrl: profiled.grpcUrl, idPrefix: `b${runTag}-prof-`, streams, workers: workersFor(throughputMissed ? 2 * STREAMS_PER_WORKER : streams), headers });
      const { done } = load.run({
        mode: throughputMissed ? 'max' : 'rate',
        periodMs: 1000,
        window: maxWindow,
        durationMs: profileSeconds * 1000,
        maxReportsPerStream: Math.ceil(maxReports / streams),
        drainTimeoutMs: 60_000,
        slotMs,
      });
      await done;
      await load.close();
      const file = await profiled.close();
      hub = undefined;
      if (file) {
        const summary = summarizeCpuProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, { root: REPO_ROOT, top: 20 });
        const frames = summary.topFrames.map((f) => ({ 'self ms': fmt(f.selfMs, 0), '% of busy': fmt(f.percent, 1), frame: f.frame }));
        const places = summary.byLocation.slice(0, 12).map((l) => ({ where: l.where, 'self ms': fmt(l.selfMs, 0), '% of busy': fmt(l.percent, 1) }));
        console.log(`profile: ${path.relative(REPO_ROOT, file)}; busy ${fmt(summary.busyMs / 1000, 1)} s of ${fmt(summary.totalMs / 1000, 1)} s`);
        console.table(places);
        console.table(frames);
        profileText = [
          `**Profile of the hub** (\`node --cpu-prof\`, ${throughputMissed ? `unthrottled, ${streams} streams` : `${streams} streams × 1 Hz`}, ${profileSeconds} s; busy ${fmt(summary.busyMs / 1000, 1)} s of ${fmt(summary.totalMs / 1000, 1)} s; file \`${path.relative(REPO_ROOT, file)}\`, not committed)`,
          '',
          'Self time by where the code lives:',
          '',
          markdownTable(places),
          '',
          'Top functions by self time:',
          '',
          markdownTable(frames),
        ].join('\n');
      }
    }

    // ---- report ----
    const table = results.map((r) => ({
      step: r.mode === 'rate' ? `${r.streams.toLocaleString('en')} × 1 Hz` : `unthrottled, ${r.streams} streams × window ${maxWindow}`,
      'window s': fmt(r.windowS, 1),
      'offered/s': r.mode === 'rate' ? r.offeredPerS : '—',
      'sent/s': fmt(r.sentPerS, 0),
      'acked/s': fmt(r.ackedPerS, 0),
      'rows/s into history': fmt(r.rowsPerS, 0),
      'receipt→publish p50 / p99 ms': `${fmt(r.publish.p50, 0)} / ${fmt(r.publish.p99, 0)}`,
      'receipt→subscriber p50 / p99 ms': `${fmt(r.deliver.p50, 0)} / ${fmt(r.deliver.p99, 0)}`,
      'hub CPU %': fmt(r.hubCpuPercent, 0),
      'hub CPU ms/report': fmt(r.hubCpuMsPerReport, 3),
      'hub event loop busy %': fmt(100 * r.hubElu, 0),
      [hubProcesses > 1 ? `hub RSS (Σ ${hubProcesses} processes)` : 'hub RSS']: formatBytes(r.hubRssBytes),
      'generators CPU % (workers)': `${fmt(r.genCpuPercent, 0)} (${r.workers})`,
    }));
    const loss = results.map((r) => ({
      step: r.label,
      sent: r.sent,
      acked: r.acked,
      'rows in history': r.rowsInDb,
      distinct: r.distinctInDb,
      rejected: r.rejected,
      'stream errors': r.streamErrors,
      'late sends': r.lateSends,
      'Redis failed writes / slow / outages / resync batches': r.redis ? `${r.redis.failedWrites} / ${r.redis.slowReplies} / ${r.redis.outages} / ${r.redis.resyncBatches}` : '—',
      'settle s before': fmt(r.settleS, 1),
      'zero loss': r.zeroLoss ? 'yes' : 'NO',
    }));
    const rawTable = raw
      ? [
          { path: 'hub (unthrottled step)', 'rows/s': fmt(unthrottled.rowsPerS, 0), 'hub ÷ this': '1.00' },
          { path: `the hub's HistoryStore.write, 1000-row batches (${raw.insert.rows} rows)`, 'rows/s': fmt(raw.insert.rowsPerSecond, 0), 'hub ÷ this': fmt(ratio(unthrottled.rowsPerS, raw.insert.rowsPerSecond), 2) },
          { path: `COPY FROM STDIN via psql (${raw.copy.rows} rows)`, 'rows/s': fmt(raw.copy.rowsPerSecond, 0), 'hub ÷ this': fmt(ratio(unthrottled.rowsPerS, raw.copy.rowsPerSecond), 2) },
        ]
      : [];
    const hist = results.flatMap((r) => r.hubHistograms.map((h) => ({ step: r.label, histogram: h.name, observations: h.count, 'p50 ms': h.p50, 'p99 ms': h.p99 })));
    const targetTable = targets.map((t) => ({ target: t.target, measured: t.measured, result: verdict(t.ok) }));
    console.log('');
    console.table(table);
    console.table(loss);
    if (rawTable.length) console.table(rawTable);
    console.table(targetTable);

    const body = [
      `Hub: ${hubProcesses > 1 ? `HUB_PROCESSES=${hubProcesses} (a node:cluster primary and ${hubProcesses} hub processes sharing the ports; CPU and RSS summed over them)` : 'its own process'}, state in Redis (prefix \`${redisPrefix}\`, removed afterwards), history in a fresh database on the local PostgreSQL (plain path, dropped afterwards).`,
      `Load: simulated collectors over gRPC/HTTP2, 100 streams per connection, in worker processes; each 1 Hz step ${warmupSeconds} s warm-up then a ${stepSeconds} s window.`,
      `Receipt → publish = Redis stream entry time (XADD) − the event's receivedAtMs; receipt → subscriber = when a reader tailing the stream got it. PostgreSQL and Redis are shared servers: their CPU is not in the hub's.`,
      '',
      markdownTable(table),
      '',
      '**Loss check** (after each step: every report acked, in history once)',
      '',
      markdownTable(loss),
      ...(rawTable.length ? ['', '**The limit: the same rows bulk-loaded straight into the same table, same run**', '', markdownTable(rawTable)] : []),
      ...(hist.length ? ['', "**The hub's own histograms** (/metrics, per window)", '', markdownTable(hist)] : []),
      '',
      '**Targets**',
      '',
      markdownTable(targetTable),
      ...(profileText ? ['', profileText] : []),
    ].join('\n');
    writeResultsSection({ name: 'hub-ingest', body, quick: args.quick, command: commandLine() });
    const json = path.join(REPO_ROOT, 'test-output', 'bench', 'hub-ingest.json');
    mkdirSync(path.dirname(json), { recursive: true });
    writeFileSync(json, JSON.stringify({ results, raw, targets }, null, 2));
  } finally {
    await hub?.close().catch(() => {});
    await observer.close();
    await pool.end().catch(() => {});
    await db.drop().catch((err: Error) => console.error(`could not drop ${db.name}: ${err.message}`));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    dir.remove();
  }
}

await main();
