// Benchmark 4 — end-to-end freshness: how old a value is when a viewer gets it. A real hub
// (`node bin/sysmonstm.js hub`, its defaults: memory state, embedded history) forwarding to the real
// edge (`wrangler dev`) with EDGE_PUSH_INTERVAL=1 (the default), fed by collectors over real gRPC that
// each send a report every interval (1 s) with timestampMs = now (the sample time) and
// process_count = seq as a marker. How old a value gets depends on where a collector's tick falls
// between two pushes, so the collectors' ticks are spread evenly over the interval (10 of them; a
// single one would measure one arbitrary phase). Two viewers, in the same run:
//   - a `ws` viewer on the Worker's /ws (public path: hub → forwarder → relay → viewer);
//   - a `ws` viewer on the hub's own /ws (local dashboard path, LIVE_PUSH_INTERVAL default 0.25 s).
// Each decodes frames with the shared decoder (like the dashboard) and, when the marker changes, notes
// receipt time − sample time. A marker overwritten before a push (two reports in one push interval)
// is never shown to anyone: counted as superseded, not as a sample.
// Target: p99 < interval + 300 ms on the public path.
// Run: node bench/freshness.ts [--seconds 300] [--interval 1] [--push-interval 1] [--collectors 10]   (--quick: 20 s, 5 collectors)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FleetMirror } from '../test/edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../test/edge/wrangler-dev.ts';
import { runCli, type CliProcess } from '../test/support/hub-process.ts';
import { freePort, tempDir } from '../test/support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../test/support/synthetic-collector.ts';
import WebSocket from 'ws';
import { commandLine, fmt, markdownTable, numberFlag, parseBenchArgs, REPO_ROOT, sleep, summarize, verdict, waitUntil, writeResultsSection } from './results.ts';
import { writeEverythingViewFile } from '../test/support/public-views.ts';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const seconds = numberFlag(args, 'seconds', 300, 20);
const intervalS = numberFlag(args, 'interval', 1, 1);
const pushIntervalS = numberFlag(args, 'push-interval', 1, 1);
const collectors = numberFlag(args, 'collectors', 10, 5);
const warmupS = 3;
const machineId = (k: number) => `bench-freshness-${k}`;
const TARGET_SLACK_MS = 300;

/** A viewer that keeps the fleet like the dashboard and notes when each new marker shows up. */
class MarkerViewer {
  readonly name: string;
  /** Per collector: marker → receipt time. */
  readonly seen: Array<Map<number, number>> = Array.from({ length: collectors }, () => new Map());
  private readonly mirror = new FleetMirror();
  private readonly ws: WebSocket;
  private readonly last: number[] = new Array(collectors).fill(0);
  frames = 0;
  errors = 0;
  private constructor(name: string, ws: WebSocket) {
    this.name = name;
    this.ws = ws;
    ws.on('message', (data) => {
      const now = Date.now();
      const text = data.toString();
      if (text === 'pong') return;
      this.frames++;
      try {
        this.mirror.apply(text);
      } catch {
        this.errors++;
        return;
      }
      for (let k = 0; k < collectors; k++) {
        const marker = this.mirror.get(machineId(k))?.values.process_count;
        if (marker !== undefined && marker > this.last[k]) {
          this.last[k] = marker;
          this.seen[k].set(marker, now);
        }
      }
    });
  }
  static open(name: string, url: string): Promise<MarkerViewer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const v = new MarkerViewer(name, ws);
      ws.once('open', () => resolve(v));
      ws.once('error', reject);
    });
  }
  close(): void {
    this.ws.terminate();
  }
}

/** COLLECTOR_TOKEN for hubs that know it (hub/config.ts), sent by the synthetic collector. */
function collectorToken(): string | undefined {
  const source = readFileSync(path.join(REPO_ROOT, 'hub/config.ts'), 'utf8');
  return source.includes('COLLECTOR_TOKEN') ? 'bench-collector-token-0123456789' : undefined;
}

async function main(): Promise<void> {
  console.log(`freshness: ${collectors} collectors (ticks spread over the interval) every ${intervalS} s, EDGE_PUSH_INTERVAL=${pushIntervalS}, ${seconds} s measured after ${warmupS} s${args.quick ? ' (quick)' : ''}`);
  const dir = tempDir('bench-freshness');
  const token = collectorToken();
  let dev: WranglerDev | undefined;
  let hub: CliProcess | undefined;
  const sessions: SyntheticSession[] = [];
  const viewers: MarkerViewer[] = [];
  try {
    dev = await startWranglerDev({ startTimeoutMs: 120_000 });
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    hub = runCli(['hub'], {
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      GRPC_HOST: '127.0.0.1',
      DATA_DIR: path.join(dir.path, 'hub'),
      EDGE_URL: dev.ingestUrl,
      EDGE_API_KEY: dev.hubToken,
      PUBLIC_VIEWS_FILE: writeEverythingViewFile(dir.path),
      EDGE_PUSH_INTERVAL: String(pushIntervalS),
      LOG_LEVEL: 'warn',
      ...(token ? { COLLECTOR_TOKEN: token } : {}),
    });
    const api = `http://127.0.0.1:${httpPort}`;
    await waitUntil('the hub to answer /health', async () => (await fetch(`${api}/health`)).ok, 90_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub!.output()}`);
    });
    viewers.push(await MarkerViewer.open('Worker /ws (hub → relay → viewer)', dev.viewerUrl));
    viewers.push(await MarkerViewer.open("hub /ws (local dashboard)", `ws://127.0.0.1:${httpPort}/ws`));
    for (let k = 0; k < collectors; k++) {
      sessions.push(openSyntheticSession(`http://127.0.0.1:${grpcPort}`, machineId(k), token ? { authorization: `Bearer ${token}` } : undefined));
    }

    const sampledAt: Array<Map<number, number>> = Array.from({ length: collectors }, () => new Map());
    const intervalMs = intervalS * 1000;
    const start = Date.now() + 100;
    const measureFrom = start + warmupS * 1000;
    const end = measureFrom + seconds * 1000;
    console.log(`sending for ${warmupS + seconds} s ...`);
    // Collector k ticks at start + k·interval/collectors + n·interval.
    await Promise.all(
      sessions.map(async (session, k) => {
        const phase = start + (k * intervalMs) / collectors;
        for (let seq = 1; ; seq++) {
          await sleep(Math.max(0, phase + (seq - 1) * intervalMs - Date.now()));
          const t = Date.now();
          if (t >= end) return;
          const report = syntheticReport(machineId(k), seq, t);
          report.processCount = seq;
          session.send(report);
          sampledAt[k].set(seq, t);
        }
      }),
    );
    await sleep(pushIntervalS * 1000 + 2000); // the last markers are still on their way

    const rows = viewers.map((v) => {
      const latencies: number[] = [];
      let sent = 0;
      sampledAt.forEach((markers, k) => {
        for (const [marker, t] of markers) {
          if (t < measureFrom) continue;
          sent++;
          const at = v.seen[k].get(marker);
          if (at !== undefined) latencies.push(at - t);
        }
      });
      return { viewer: v, sent, summary: summarize(latencies), superseded: sent - latencies.length };
    });
    const reportsSent = sampledAt.reduce((n, m) => n + m.size, 0);
    const acked = sessions.reduce((n, s) => n + s.acked(), 0);
    const targetMs = intervalMs + TARGET_SLACK_MS;
    const edge = rows[0];
    const table = rows.map((r) => ({
      path: r.viewer.name,
      'markers sent': r.sent,
      'seen (superseded)': `${r.summary.count} (${r.superseded})`,
      'p50 ms': fmt(r.summary.p50, 0),
      'p90 ms': fmt(r.summary.p90, 0),
      'p99 ms': fmt(r.summary.p99, 0),
      'max ms': fmt(r.summary.max, 0),
      'frame errors': r.viewer.errors,
    }));
    const targets = [
      { target: `p99 sample → Worker viewer < interval + ${TARGET_SLACK_MS} ms (${targetMs} ms)`, measured: `${fmt(edge.summary.p99, 0)} ms`, result: verdict(edge.summary.count > 0 ? edge.summary.p99 < targetMs : false) },
    ];
    console.log(`\ncollectors: ${reportsSent} reports sent, ${acked} acked`);
    console.table(table);
    console.table(targets);
    const body = [
      `${collectors} synthetic collectors over gRPC, each a report every ${intervalS} s, their ticks spread evenly over the interval (timestampMs = send time = sample time, process_count = seq as the marker); hub: \`sysmonstm hub\` defaults`,
      `(memory state, embedded history) with EDGE_PUSH_INTERVAL=${pushIntervalS} and LIVE_PUSH_INTERVAL at its default (0.25 s); edge: wrangler dev. ${seconds} s measured after ${warmupS} s.`,
      'Freshness = receipt time at the viewer − sample time, per marker. "Superseded" markers were replaced by a newer one before a push and never shown.',
      '',
      markdownTable(table),
      '',
      '**Target**',
      '',
      markdownTable(targets),
    ].join('\n');
    writeResultsSection({ name: 'freshness', body, quick: args.quick, command: commandLine() });
  } finally {
    for (const v of viewers) v.close();
    await Promise.all(sessions.map((s) => s.finish().catch(() => {})));
    await hub?.stop();
    await dev?.stop();
    dir.remove();
  }
}

await main();
