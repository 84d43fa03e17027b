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
// Targets, with every source on: our CPU per sample ≤ node_exporter + scraper; our peak RSS ≤ 60 MiB.
// Ours runs in many variants side by side, each its own collector process with its own machine id
// (bench/collector-variants.ts): --part options, every source on under each set of Node/V8 options;
// --part sources, as shipped (the launcher's options, bin/collector-node-options.js) with every extra
// source off, each source alone and every source on. "Every source": containers from a fake Docker
// Engine API (test/fixtures/docker, served by this process, not measured; with no cgroup files to read
// it asks the engine's one-shot stats every second, the dearer path), top processes (10 every 5 s),
// and fake nvidia-smi / smartctl / systemctl on PATH (shell scripts printing recordings: their CPU
// counts in our tree, as a real nvidia-smi's would). After the window, the bytes each source adds to a
// report are measured in this process (bench/source-bytes.ts).
// (--lite-mode and --jitless cannot run: they turn WebAssembly off and Node's undici, behind Headers, needs it.)
// Run: node bench/collector-footprint.ts [--window 300] [--warmup 15] [--part options|sources|all]    (--quick: 20 s window)
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
import { COLLECTOR_NODE_OPTIONS } from '../bin/collector-node-options.js';
import { collectorVariants, SOURCES, type CollectorVariant, type VariantPaths } from './collector-variants.ts';
import { parseStatusKb, TreeSampler, treeUsage } from './process-usage.ts';
import { measureSourceBytes } from './source-bytes.ts';
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
  variant?: CollectorVariant;
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

    // ---- ours: the bundle, the way users run the collector, in every variant ----
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
    // The same fakes without nvidia-smi, for the variants where the GPU source stays off.
    const noGpuBin = path.join(dir.path, 'bin-no-gpu');
    mkdirSync(noGpuBin);
    for (const name of ['smartctl', 'systemctl']) symlinkSync(path.join(fake.bin, name), path.join(noGpuBin, name));
    const variantPaths: VariantPaths = { engineSocket: engine.socketPath, absentSocket: path.join(dir.path, 'no-engine.sock'), fakeBin: fake.bin, noGpuBin, path: process.env.PATH ?? '' };
    const variants = collectorVariants(args.flags.part, variantPaths);
    const collectorOutputs: Array<() => string> = [];
    variants.forEach((variant, i) => {
      const id = `${MACHINE_ID}-${i + 1}`;
      const collector = spawn(
        process.execPath,
        [...variant.nodeArgs, path.join(packageRoot, 'bin/sysmonstm.js'), 'collector', '--hub', `http://127.0.0.1:${grpcPort}`, '--interval', '1', '--id', id, '--data-dir', path.join(dir.path, `collector-${i + 1}`)],
        { cwd: dir.path, env: { ...process.env, LOG_LEVEL: 'warn', ...variant.env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      collectorOutputs.push(output(collector));
      const how = variant.nodeArgs.length ? `node ${variant.nodeArgs.join(' ')} bin/sysmonstm.js collector` : `sysmonstm collector (re-executes node ${COLLECTOR_NODE_OPTIONS.join(' ')} bin/collector.cjs)`;
      contenders.push({ name: `ours ${i + 1}: ${variant.label}`, ours: true, variant, what: how, child: collector, samplesSoFar: () => lastSeq(id), stop: () => stopChild(collector) });
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
      variant?: CollectorVariant;
      what: string;
      cpuS: number;
      samples: number;
      peakBytes: number;
      /** VmHWM of the main process (the collector itself, without the children it runs). */
      mainPeakBytes: number;
      endRssBytes: number;
      /** RssAnon / RssFile of the main process at the end, bytes. */
      anonBytes: number;
      fileBytes: number;
      missing?: string;
    }
    const rows: Row[] = [];
    for (const c of contenders) {
      if (c.missing || !c.child?.pid) {
        rows.push({ name: c.name, what: c.what, cpuS: Number.NaN, samples: Number.NaN, peakBytes: Number.NaN, mainPeakBytes: Number.NaN, endRssBytes: Number.NaN, anonBytes: Number.NaN, fileBytes: Number.NaN, missing: c.missing ?? 'did not start' });
        continue;
      }
      const status = readFileSync(`/proc/${c.child.pid}/status`, 'utf8');
      const end = c.sampler!.stop();
      const samples = (await c.samplesSoFar!()) - c.samplesAtStart!;
      if (!end || c.child.exitCode !== null) throw new Error(`${c.name} exited during the window`);
      rows.push({
        name: c.name,
        ours: c.ours,
        variant: c.variant,
        what: c.what,
        cpuS: end.cpuSeconds - c.cpuAtStart!,
        samples,
        peakBytes: c.sampler!.peakHwmBytes,
        mainPeakBytes: parseStatusKb(status, 'VmHWM') ?? Number.NaN,
        endRssBytes: end.rssBytes,
        anonBytes: parseStatusKb(status, 'RssAnon') ?? Number.NaN,
        fileBytes: parseStatusKb(status, 'RssFile') ?? Number.NaN,
      });
    }
    for (const c of contenders) await c.stop?.().catch(() => {});

    // Bytes per report per source: the collector's sources in this process, reading the same fakes.
    const byteSamples = args.quick ? 10 : 30;
    console.log(`bytes per report per source: ${byteSamples} samples in this process ...`);
    const bytes = await measureSourceBytes(variantPaths, byteSamples);

    const ours = rows.filter((r) => r.ours);
    const exporter = rows.find((r) => r.name === 'node_exporter')!;
    const scraper = rows.find((r) => r.name.startsWith('scraper'));
    const glances = rows.find((r) => r.name === 'Glances')!;
    const exporterPlusScraper = exporter.missing ? Number.NaN : exporter.cpuS + (scraper?.cpuS ?? 0);
    const msPerSample = (r: Row) => (1000 * r.cpuS) / r.samples;
    const exporterMsPerSample = exporter.missing ? Number.NaN : (1000 * exporterPlusScraper) / exporter.samples;
    const mib = (bytes: number) => bytes / (1024 * 1024);
    const signedMib = (bytes: number) => (Number.isFinite(bytes) ? `${bytes >= 0 ? '+' : '−'}${fmt(Math.abs(mib(bytes)), 1)} MiB` : 'n/a');
    const signedMs = (ms: number) => (Number.isFinite(ms) ? `${ms >= 0 ? '+' : '−'}${fmt(Math.abs(ms), 2)}` : 'n/a');
    const table = rows.map((r) => ({
      process: r.name,
      'CPU s in window': r.missing ? r.missing : fmt(r.cpuS, 2),
      'CPU % of one core': r.missing ? '' : fmt((100 * r.cpuS) / elapsedS, 2),
      'samples in window': r.missing ? '' : r.samples,
      'CPU ms per sample': r.missing ? '' : fmt(msPerSample(r), 2),
      'peak RSS, main process (VmHWM)': r.missing ? '' : formatBytes(r.mainPeakBytes),
      'peak RSS, tree (Σ VmHWM)': r.missing ? '' : formatBytes(r.peakBytes),
      'main process RssAnon / RssFile at the end': r.missing ? '' : `${formatBytes(r.anonBytes)} / ${formatBytes(r.fileBytes)}`,
    }));

    // Node/V8 options, every source on: what each set saves against none.
    const optionRows = ours.filter((r) => r.variant?.part === 'options');
    const noOptions = optionRows.find((r) => r.variant!.nodeArgs.join(' ') === '--no-warnings' && r.variant!.sources.length > 0);
    const optionsTable = optionRows.map((r) => ({
      configuration: r.variant!.label,
      'node options': r.variant!.nodeArgs.join(' '),
      'peak RSS, main process': formatBytes(r.mainPeakBytes),
      'vs no options': noOptions && r.variant!.sources.length > 0 ? signedMib(r.mainPeakBytes - noOptions.mainPeakBytes) : '',
      'peak RSS, tree': formatBytes(r.peakBytes),
      'CPU ms per sample': fmt(msPerSample(r), 2),
      'CPU ÷ (node_exporter + scraper)': fmt(ratio(r.cpuS / r.samples, exporterPlusScraper / (exporter.samples || Number.NaN)), 2),
    }));

    // Each source alone against every source off, as shipped (the launcher's options).
    const sourceRows = ours.filter((r) => r.variant?.part === 'sources');
    const allOff = sourceRows.find((r) => r.variant!.sources.length === 0);
    const shippedAll = sourceRows.find((r) => r.variant!.sources.length === SOURCES.length);
    const sourceTable = [
      ...SOURCES.map((name) => {
        const alone = sourceRows.find((r) => r.variant!.sources.length === 1 && r.variant!.sources[0] === name);
        return {
          source: name,
          'peak RSS, main process, alone': alone ? formatBytes(alone.mainPeakBytes) : 'n/a',
          'vs every source off': alone && allOff ? signedMib(alone.mainPeakBytes - allOff.mainPeakBytes) : 'n/a',
          'peak RSS, tree, alone': alone ? formatBytes(alone.peakBytes) : 'n/a',
          'CPU ms per sample, alone': alone ? fmt(msPerSample(alone), 2) : 'n/a',
          'CPU ms per sample vs every source off': alone && allOff ? signedMs(msPerSample(alone) - msPerSample(allOff)) : 'n/a',
          'bytes per report': fmt(bytes.bytesPerReport[name], 0),
          'reports carrying it': `${bytes.reportsWith[name]} of ${bytes.samples}`,
        };
      }),
      ...[allOff, shippedAll].filter((r): r is Row => r !== undefined).map((r) => ({
        source: r.variant!.sources.length === 0 ? '(every source off)' : '(every source on)',
        'peak RSS, main process, alone': formatBytes(r.mainPeakBytes),
        'vs every source off': allOff && r !== allOff ? signedMib(r.mainPeakBytes - allOff.mainPeakBytes) : '',
        'peak RSS, tree, alone': formatBytes(r.peakBytes),
        'CPU ms per sample, alone': fmt(msPerSample(r), 2),
        'CPU ms per sample vs every source off': allOff && r !== allOff ? signedMs(msPerSample(r) - msPerSample(allOff)) : '',
        'bytes per report': r.variant!.sources.length === 0 ? `${fmt(bytes.machineBytesPerReport, 0)} (the machine part)` : fmt(bytes.machineBytesPerReport + SOURCES.reduce((sum, s) => sum + bytes.bytesPerReport[s], 0), 0),
        'reports carrying it': '',
      })),
    ];

    const targetRows = shippedAll ? [shippedAll] : ours.filter((r) => r.variant?.sources.length === SOURCES.length);
    const targets = targetRows.flatMap((o) => [
      {
        target: `${o.name}: CPU per sample ≤ node_exporter + scraper`,
        measured: `${fmt(msPerSample(o), 2)} ms vs ${fmt(exporterMsPerSample, 2)} ms (ratio ${fmt(ratio(msPerSample(o), exporterMsPerSample), 2)})`,
        result: verdict(Number.isFinite(exporterMsPerSample) ? msPerSample(o) <= exporterMsPerSample : undefined),
      },
      { target: `${o.name}: peak RSS of the collector process ≤ 60 MiB`, measured: formatBytes(o.mainPeakBytes), result: verdict(o.mainPeakBytes <= RSS_TARGET_BYTES) },
      { target: `${o.name}: peak RSS with the children it runs ≤ 60 MiB`, measured: formatBytes(o.peakBytes), result: verdict(o.peakBytes <= RSS_TARGET_BYTES) },
    ]);
    const ratios = targetRows.flatMap((o) => [
      { comparison: `CPU: ${o.name} ÷ Glances`, ratio: fmt(ratio(o.cpuS, glances.cpuS), 2) },
      { comparison: `peak RSS: ${o.name} ÷ node_exporter`, ratio: fmt(ratio(o.peakBytes, exporter.peakBytes), 2) },
    ]);
    console.log(`\nwindow: ${elapsedS.toFixed(1)} s`);
    console.table(table);
    if (optionsTable.length) console.table(optionsTable);
    console.table(sourceTable);
    console.table(targets);

    const missing = rows.filter((r) => r.missing);
    const body = [
      `Window ${elapsedS.toFixed(1)} s after ${warmupS} s of warm-up; all of them sampling every second at the same time.`,
      '',
      markdownTable(table),
      '',
      ...(optionsTable.length ? ['**Node and V8 options**, every source on (peak RSS of the collector process; "vs no options" against the first row)', '', markdownTable(optionsTable), ''] : []),
      `**Per source**, as shipped (\`sysmonstm collector\`, which re-executes node with ${COLLECTOR_NODE_OPTIONS.join(' ')} and the CommonJS entry bin/collector.cjs; the options rows above keep bin/sysmonstm.js, an ES module): each source on alone against every extra source off. Bytes per report: the source's field of the Report encoded alone (protobuf), averaged over ${bytes.samples} reports sampled once a second in the bench process from the same fakes.`,
      '',
      markdownTable(sourceTable),
      '',
      ...(ratios.length ? [markdownTable(ratios), ''] : []),
      '**Targets**',
      '',
      markdownTable(targets),
      '',
      'How it is measured: CPU = Σ (utime + stime + cutime + cstime) over the process tree from /proc, end of window minus start;',
      'peak RSS of the main process = its VmHWM at the end of the window (start-up included); of the tree = the largest Σ VmHWM',
      'seen over the tree (sampled every second; the children are the fake nvidia-smi loop and the smartctl/systemctl runs);',
      "RssAnon / RssFile = the main process's anonymous memory (heap, code) and file pages (mostly the node executable) at the end.",
      'Ours runs the collector bundle (dist/collector.mjs), as `sysmonstm collector` does once it is built. "Samples" are reports the hub',
      'stored for our collector, scrapes for node_exporter and the scraper, CSV rows for Glances. CPU per sample for node_exporter',
      'counts the exporter and the scraper together.',
      'Every source on: 3 containers from a fake Docker Engine API (test/fixtures/docker; no cgroup files to read, so one-shot stats',
      'every second for the 2 running ones, the dearer path); top processes 10 every 5 s; 2 GPUs from a fake long-running',
      '`nvidia-smi -l 1`; 2 disks from a fake `smartctl`; 3 services from a fake `systemctl` every 30 s. The fakes are shell scripts',
      'whose CPU counts in our tree (a real nvidia-smi costs its own CPU too). "No V8 options" runs `node --no-warnings bin/sysmonstm.js',
      'collector`: with an option of its own on node\'s command line the launcher adds none (bin/collector-node-options.js).',
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
