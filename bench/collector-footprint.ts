// Benchmark 1 — what the collector costs the machine it watches, side by side with what users would
// otherwise run there, all sampling every second over the same window:
//   - ours: `node bin/sysmonstm.js collector --interval 1` streaming to a real hub (a child process on
//     a fresh PostgreSQL database; the hub itself is not measured), running the bundle
//     dist/collector.mjs as an installed package does (built here first with scripts/build.ts into a
//     package folder without sources, so bin/sysmonstm.js runs the bundle);
//   - Prometheus node_exporter (Debian prometheus-node-exporter, all default collectors) on a loopback
//     port, scraped every second by a shell loop running curl (its own process tree, measured apart);
//   - Glances (Debian glances) headless: --quiet --time 1 --export csv.
// For each: CPU seconds used in the window (utime + stime including waited-for children, summed over
// the process tree, from /proc), peak RSS (Σ VmHWM over the tree), and samples taken in the window;
// RssAnon / RssFile of the main process at the end (heap and code vs pages of the executable).
// Targets: our CPU ≤ node_exporter + scraper; our peak RSS ≤ 60 MB.
// Ours runs in four variants side by side, each its own collector process with its own machine id:
//   1. the extra sources off (TOP_PROCESSES=0; this machine has no container engine, GPU, smartctl or systemd);
//   2. every source on: containers from a fake Docker Engine API (test/fixtures/docker, served by this
//      process, not measured; with no cgroup files to read it asks the engine's one-shot stats every
//      second, the dearer path), top processes (10 every 5 s), and fake nvidia-smi / smartctl /
//      systemctl on PATH (shell scripts printing recordings: their CPU counts in our tree, as a real
//      nvidia-smi's would);
//   3. as 2 with node --max-semi-space-size=1 (a 1 MiB young generation instead of 16 MiB);
//   4. as 3 plus --single-threaded --no-opt (no V8 worker threads, no optimizing compiler).
//      (--lite-mode and --jitless would save more, but they turn WebAssembly off and Node's undici needs it.)
// Run: node bench/collector-footprint.ts [--window 300] [--warmup 15]    (--quick: 20 s window)
// Needs: apt-get update && apt-get install -y prometheus-node-exporter glances
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { runCli, type CliProcess } from '../test/support/hub-process.ts';
import { createTestDatabase, freePort, tempDir } from '../test/support/servers.ts';
import { entryPoints } from '../bin/entry-points.js';
import { buildCollector } from '../scripts/build.ts';
import { startFakeDockerEngine, type FakeDockerEngine } from '../test/support/fake-docker-engine.ts';
import { writeFakeExecutables } from '../test/support/fake-executables.ts';
import { parseStatusKb, TreeSampler, treeUsage } from './process-usage.ts';
import { commandLine, fmt, formatBytes, markdownTable, numberFlag, parseBenchArgs, ratio, REPO_ROOT, sleep, verdict, waitUntil, writeResultsSection } from './results.ts';

const NODE_EXPORTER_BIN = '/usr/bin/prometheus-node-exporter';
const GLANCES_BIN = '/usr/bin/glances';
const RSS_TARGET_BYTES = 60 * 1024 * 1024;
const MACHINE_ID = 'bench-collector-footprint';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const windowS = numberFlag(args, 'window', 300, 20);
const warmupS = numberFlag(args, 'warmup', 15, 5);

interface Contender {
  name: string;
  /** One of our collector variants. */
  ours?: boolean;
  /** What it is, for the table. */
  what: string;
  /** The process tree measured (undefined: not available). */
  child?: ChildProcess;
  missing?: string;
  /** Samples taken so far (reports acked / scrapes / CSV rows). */
  samplesSoFar?: () => Promise<number>;
  sampler?: TreeSampler;
  cpuAtStart?: number;
  samplesAtStart?: number;
  stop?: () => Promise<void>;
}

function output(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-20_000)));
  return () => text;
}

/** Stops a child (its whole process group when `group`), SIGKILL after a grace period. */
async function stopChild(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (group) process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function lineCount(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').length;
}

async function main(): Promise<void> {
  console.log(`collector footprint: ${windowS} s window after ${warmupS} s warm-up, everything sampling every 1 s${args.quick ? ' (quick)' : ''}`);
  const dir = tempDir('bench-footprint');
  const db = await createTestDatabase();
  const contenders: Contender[] = [];
  let hub: CliProcess | undefined;
  let engine: FakeDockerEngine | undefined;
  try {
    // ---- the hub our collector talks to (not measured) ----
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    hub = runCli(['hub'], {
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      GRPC_HOST: '127.0.0.1',
      DATA_DIR: path.join(dir.path, 'hub'),
      TIMESCALE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    const api = `http://127.0.0.1:${httpPort}`;
    await waitUntil('the hub to answer /health', async () => (await fetch(`${api}/health`)).ok, 60_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub!.output()}`);
    });
    const lastSeq = async (id: string) => {
      const res = await fetch(`${api}/api/machines/${id}/metrics`);
      return res.ok ? ((await res.json()) as { lastSeq: number }).lastSeq : 0;
    };

    // ---- ours: the bundle, the way users run the collector, in four variants ----
    const packageRoot = path.join(dir.path, 'package');
    mkdirSync(packageRoot);
    cpSync(path.join(REPO_ROOT, 'bin'), path.join(packageRoot, 'bin'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'package.json'), path.join(packageRoot, 'package.json'));
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(packageRoot, 'node_modules'));
    await buildCollector(path.join(packageRoot, 'dist'));
    const chosen = entryPoints(packageRoot, existsSync);
    if (chosen.mode !== 'built') throw new Error(`the collector would not run from the bundle: ${chosen.reason}`);
    engine = await startFakeDockerEngine(path.join(dir.path, 'docker.sock'));
    const fake = writeFakeExecutables(path.join(dir.path, 'bin'));
    const everySource = { DOCKER_HOST: `unix://${engine.socketPath}`, TOP_PROCESSES: '10', TOP_PROCESSES_INTERVAL: '5', SERVICE_PATTERNS: 'nginx*,postgres*', PATH: `${fake.bin}:${process.env.PATH}` };
    // V8 flags go on node's command line (NODE_OPTIONS refuses some of them, --lite-mode for one).
    const variants: Array<{ label: string; env: Record<string, string>; nodeArgs: string[] }> = [
      { label: 'no extra sources', env: { TOP_PROCESSES: '0' }, nodeArgs: [] },
      { label: 'every source on', env: everySource, nodeArgs: [] },
      { label: 'every source, --max-semi-space-size=1', env: everySource, nodeArgs: ['--max-semi-space-size=1'] },
      // (--lite-mode and --jitless turn WebAssembly off, and Node's fetch/Headers (undici) need it: the collector cannot start.)
      { label: 'every source, semi-space 1 + --single-threaded --no-opt', env: everySource, nodeArgs: ['--max-semi-space-size=1', '--single-threaded', '--no-opt'] },
    ];
    const collectorOutputs: Array<() => string> = [];
    variants.forEach((variant, i) => {
      const id = `${MACHINE_ID}-${i + 1}`;
      const collector = spawn(
        process.execPath,
        [...variant.nodeArgs, path.join(packageRoot, 'bin/sysmonstm.js'), 'collector', '--hub', `http://127.0.0.1:${grpcPort}`, '--interval', '1', '--id', id, '--data-dir', path.join(dir.path, `collector-${i + 1}`)],
        { cwd: dir.path, env: { ...process.env, LOG_LEVEL: 'warn', ...variant.env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      collectorOutputs.push(output(collector));
      contenders.push({ name: `ours ${i + 1}: ${variant.label}`, ours: true, what: `node bin/sysmonstm.js collector --interval 1 (dist/collector.mjs) → hub over gRPC${variant.nodeArgs.length ? `, node ${variant.nodeArgs.join(' ')}` : ''}`, child: collector, samplesSoFar: () => lastSeq(id), stop: () => stopChild(collector) });
    });

    // ---- node_exporter + scraper ----
    if (existsSync(NODE_EXPORTER_BIN)) {
      const port = await freePort();
      const exporter = spawn(NODE_EXPORTER_BIN, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exporterOutput = output(exporter);
      await waitUntil('node_exporter to answer', async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).ok, 20_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}\n${exporterOutput()}`);
      });
      const scrapeLog = path.join(dir.path, 'scrapes.log');
      // One scrape a second, like a Prometheus server with scrape_interval 1s; each line: bytes, seconds.
      const scraper = spawn('sh', ['-c', `while :; do curl -s -o /dev/null -w '%{size_download} %{time_total}\\n' http://127.0.0.1:${port}/metrics >> '${scrapeLog}'; sleep 1; done`], {
        stdio: 'ignore',
        detached: true, // its own group: stopped together with the curl/sleep it is running
      });
      contenders.push({ name: 'node_exporter', what: `${NODE_EXPORTER_BIN} (default collectors)`, child: exporter, samplesSoFar: async () => lineCount(scrapeLog), stop: () => stopChild(exporter) });
      contenders.push({ name: 'scraper (sh + curl every 1 s)', what: 'stands in for the Prometheus server', child: scraper, samplesSoFar: async () => lineCount(scrapeLog), stop: () => stopChild(scraper, true) });
    } else {
      contenders.push({ name: 'node_exporter', what: NODE_EXPORTER_BIN, missing: 'not installed (apt-get update && apt-get install -y prometheus-node-exporter)' });
    }

    // ---- Glances ----
    if (existsSync(GLANCES_BIN)) {
      const csv = path.join(dir.path, 'glances.csv');
      const glances = spawn(GLANCES_BIN, ['--quiet', '--time', '1', '--export', 'csv', '--export-csv-file', csv, '--disable-check-update'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOME: dir.path }, // its log and config lookups stay in the temp dir
      });
      output(glances);
      contenders.push({ name: 'Glances', what: `glances --quiet --time 1 --export csv`, child: glances, samplesSoFar: async () => Math.max(0, lineCount(csv) - 1), stop: () => stopChild(glances) });
    } else {
      contenders.push({ name: 'Glances', what: GLANCES_BIN, missing: 'not installed (apt-get update && apt-get install -y glances)' });
    }

    await waitUntil('every collector to report', async () => (await Promise.all(contenders.filter((c) => c.ours).map((c) => c.samplesSoFar!()))).every((n) => n > 0), 60_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n${collectorOutputs.map((o) => o()).join('\n')}`);
    });
    for (const c of contenders) if (c.child?.pid) c.sampler = new TreeSampler(c.child.pid).start(1000);
    console.log(`warming up ${warmupS} s ...`);
    await sleep(warmupS * 1000);

    // ---- the window ----
    for (const c of contenders) {
      if (!c.child?.pid) continue;
      const u = treeUsage(c.child.pid);
      if (!u) throw new Error(`${c.name} exited during the warm-up`);
      c.cpuAtStart = u.cpuSeconds;
      c.samplesAtStart = await c.samplesSoFar!();
    }
    const t0 = Date.now();
    console.log(`measuring ${windowS} s ...`);
    await sleep(windowS * 1000);
    const elapsedS = (Date.now() - t0) / 1000;

    interface Row {
      name: string;
      ours?: boolean;
      what: string;
      cpuS: number;
      samples: number;
      peakBytes: number;
      endRssBytes: number;
      /** RssAnon / RssFile of the main process at the end, bytes. */
      anonBytes: number;
      fileBytes: number;
      missing?: string;
    }
    const rows: Row[] = [];
    for (const c of contenders) {
      if (c.missing || !c.child?.pid) {
        rows.push({ name: c.name, what: c.what, cpuS: Number.NaN, samples: Number.NaN, peakBytes: Number.NaN, endRssBytes: Number.NaN, anonBytes: Number.NaN, fileBytes: Number.NaN, missing: c.missing ?? 'did not start' });
        continue;
      }
      const status = readFileSync(`/proc/${c.child.pid}/status`, 'utf8');
      const end = c.sampler!.stop();
      const samples = (await c.samplesSoFar!()) - c.samplesAtStart!;
      if (!end || c.child.exitCode !== null) throw new Error(`${c.name} exited during the window`);
      rows.push({ name: c.name, ours: c.ours, what: c.what, cpuS: end.cpuSeconds - c.cpuAtStart!, samples, peakBytes: c.sampler!.peakHwmBytes, endRssBytes: end.rssBytes, anonBytes: parseStatusKb(status, 'RssAnon') ?? Number.NaN, fileBytes: parseStatusKb(status, 'RssFile') ?? Number.NaN });
    }

    const ours = rows.filter((r) => r.ours);
    const exporter = rows.find((r) => r.name === 'node_exporter')!;
    const scraper = rows.find((r) => r.name.startsWith('scraper'));
    const glances = rows.find((r) => r.name === 'Glances')!;
    const exporterPlusScraper = exporter.missing ? Number.NaN : exporter.cpuS + (scraper?.cpuS ?? 0);
    const table = rows.map((r) => ({
      process: r.name,
      'CPU s in window': r.missing ? r.missing : fmt(r.cpuS, 2),
      'CPU % of one core': r.missing ? '' : fmt((100 * r.cpuS) / elapsedS, 2),
      'samples in window': r.missing ? '' : r.samples,
      'CPU ms per sample': r.missing ? '' : fmt((1000 * r.cpuS) / r.samples, 2),
      'peak RSS (Σ VmHWM)': r.missing ? '' : formatBytes(r.peakBytes),
      'RSS at the end (Σ VmRSS)': r.missing ? '' : formatBytes(r.endRssBytes),
      'main process RssAnon / RssFile at the end': r.missing ? '' : `${formatBytes(r.anonBytes)} / ${formatBytes(r.fileBytes)}`,
    }));
    const targets = ours.flatMap((o) => [
      {
        target: `${o.name}: CPU ≤ node_exporter + scraper`,
        measured: `${fmt(o.cpuS, 2)} s vs ${fmt(exporterPlusScraper, 2)} s (ratio ${fmt(ratio(o.cpuS, exporterPlusScraper), 2)})`,
        result: verdict(Number.isFinite(exporterPlusScraper) ? o.cpuS <= exporterPlusScraper : undefined),
      },
      { target: `${o.name}: peak RSS ≤ 60 MB`, measured: formatBytes(o.peakBytes), result: verdict(o.peakBytes <= RSS_TARGET_BYTES) },
    ]);
    const ratios = ours.flatMap((o) => [
      { comparison: `CPU: ${o.name} ÷ (node_exporter + scraper)`, ratio: fmt(ratio(o.cpuS, exporterPlusScraper), 2) },
      { comparison: `CPU: ${o.name} ÷ Glances`, ratio: fmt(ratio(o.cpuS, glances.cpuS), 2) },
      { comparison: `peak RSS: ${o.name} ÷ node_exporter`, ratio: fmt(ratio(o.peakBytes, exporter.peakBytes), 2) },
    ]);
    console.log(`\nwindow: ${elapsedS.toFixed(1)} s`);
    console.table(table);
    console.table(ratios);
    console.table(targets);

    const missing = rows.filter((r) => r.missing);
    const body = [
      `Window ${elapsedS.toFixed(1)} s after ${warmupS} s of warm-up; all of them sampling every second at the same time.`,
      '',
      markdownTable(table),
      '',
      markdownTable(ratios),
      '',
      '**Targets**',
      '',
      markdownTable(targets),
      '',
      'How it is measured: CPU = Σ (utime + stime + cutime + cstime) over the process tree from /proc, end of window minus start;',
      'peak RSS = the largest Σ VmHWM seen over the tree (sampled every second, start-up included); RSS at the end = Σ VmRSS when the',
      'window closed; RssAnon / RssFile = the main process\'s anonymous memory (heap, code) and file pages (mostly the executable) then.',
      'Ours runs the collector bundle (dist/collector.mjs), as `sysmonstm collector` does once it is built. "Samples" are reports the hub',
      'stored for our collector, scrapes for node_exporter and the scraper, CSV rows for Glances.',
      'Our four variants run at the same time (see the header of bench/collector-footprint.ts): 1 without the extra sources; 2 with every',
      'source on (3 containers from a fake Docker Engine API, one-shot stats every second for the 2 running ones; top processes 10 every 5 s;',
      '2 GPUs from a fake long-running `nvidia-smi -l 1`; 2 disks from a fake `smartctl`; 3 services from a fake `systemctl` every 30 s —',
      'the fakes are shell scripts whose CPU counts in our tree); 3 and 4 as 2 with V8 options on node\'s command line.',
      ...(missing.length ? ['', `Not measured: ${missing.map((m) => `${m.name} — ${m.missing}`).join('; ')}.`] : []),
    ].join('\n');
    writeResultsSection({ name: 'collector-footprint', body, quick: args.quick, command: commandLine() });
  } finally {
    for (const c of [...contenders].reverse()) await c.stop?.().catch(() => {});
    await hub?.stop();
    await engine?.close();
    await db.drop().catch((err: Error) => console.error(`could not drop ${db.name}: ${err.message}`));
    dir.remove();
  }
}

await main();
