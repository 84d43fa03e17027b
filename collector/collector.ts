// One collector: samples the machine on clock-anchored ticks, turns each sample into a Report with the
// next seq, buffers it until the hub acks it, and streams it through the ingest client. The hub's
// Settings change the interval live; close() stops sampling, ends the stream and flushes the spool
// and the seq file. The buffer is the on-disk spool by default (spooled-report-buffer.ts): unacked
// reports survive a restart and are resent first, and the seq continues after the last spooled one.
import { create } from '@bufbuild/protobuf';
import { ReportSchema } from '../proto/gen/sysmonstm/v1/report_pb.js';
import type { BackoffOptions } from './backoff.ts';
import { ConfigError, type CollectorConfig } from './config.ts';
import { fileErrorReason, readConfigFile } from './config-file.ts';
import { createExtraSources, type ExtraSources } from './extra-sources.ts';
import { diagnoseHubPort, probeHubPort } from './hub-port-check.ts';
import { createIngestClient, type IngestClient } from './ingest-client.ts';
import type { Logger } from './log.ts';
import { createProcSampler } from './proc-sampler.ts';
import { createReportBuffer, type ReportBuffer } from './report-buffer.ts';
import type { Sampler } from './sampler.ts';
import { openSeqStore, planAfterWelcome, type SeqStore } from './seq-store.ts';
import { openSpooledReportBuffer, spoolDirFor } from './spooled-report-buffer.ts';
import { nextTickMs } from './tick-schedule.ts';
import packageJson from '../package.json' with { type: 'json' };

// A JSON import, not a file read relative to this module: the bundle (dist/collector.mjs) carries it.
export const COLLECTOR_VERSION: string = packageJson.version;

export interface CollectorDeps {
  log: Logger;
  /** Defaults to the /proc sampler on Linux and systeminformation elsewhere (or config.sampler). */
  sampler?: Sampler;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Defaults to the sources the machine has (extra-sources.ts). */
  extraSources?: ExtraSources;
  /** The hub URL is a mistake no retry fixes (see hub-port-check.ts); default: logged, retried. */
  onFatal?: (message: string) => void;
}

export interface Collector {
  start(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
  /** The interval sampling runs at now (the hub's setting, or the configured one). */
  readonly intervalMs: number;
  readonly buffer: ReportBuffer;
  readonly client: IngestClient;
}

export function chooseSampler(
  kind: CollectorConfig['sampler'],
  platform: NodeJS.Platform = process.platform,
  hostPaths?: CollectorConfig['hostPaths'],
): Sampler {
  const useProc = kind === 'proc' || (kind === 'auto' && platform === 'linux');
  return useProc ? createProcSampler(hostPaths) : lazySiSampler();
}

/** The systeminformation sampler, imported on first use: the library is large and Linux does not need it. */
function lazySiSampler(): Sampler {
  let loaded: Promise<Sampler> | undefined;
  const sampler = () => (loaded ??= import('./si-sampler.ts').then((m) => m.createSiSampler()));
  return {
    kind: 'systeminformation',
    prime: async () => (await sampler()).prime(),
    sample: async () => (await sampler()).sample(),
    describe: async () => (await sampler()).describe(),
  };
}

export function createCollector(config: CollectorConfig, deps: CollectorDeps): Collector {
  const { log } = deps;
  const sampler = deps.sampler ?? chooseSampler(config.sampler, process.platform, config.hostPaths);
  const extraSources = deps.extraSources ?? createExtraSources(config, { log });
  let buffer: ReportBuffer | undefined;
  let seqStore: SeqStore | undefined;
  let client: IngestClient | undefined;
  let intervalMs = config.intervalMs;
  let anchorMs = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  let closed: Promise<void> | undefined;
  let lastDropWarningMs = 0;

  function schedule(): void {
    if (stopped) return;
    clearTimeout(timer);
    const now = Date.now();
    timer = setTimeout(tick, nextTickMs(anchorMs, intervalMs, now) - now);
  }

  function tick(): void {
    timer = undefined;
    if (stopped || inFlight) return;
    inFlight = sampleOnce().finally(() => {
      inFlight = undefined;
      schedule();
    });
  }

  async function sampleOnce(): Promise<void> {
    const timestampMs = Date.now();
    let sample;
    let extra;
    try {
      [sample, extra] = await Promise.all([sampler.sample(), extraSources.sample()]);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'sampling failed; skipping this interval');
      return;
    }
    if (stopped || !buffer) return;
    const seq = seqStore!.take();
    const report = create(ReportSchema, {
      ...sample,
      ...extra,
      machineId: config.machineId,
      seq: BigInt(seq),
      timestampMs: BigInt(timestampMs),
      hostname: config.hostname,
      displayName: config.displayName,
      intervalMs,
      labels: { ...config.labels },
    });
    let dropped: number;
    try {
      // Written to the spool in this same tick, before anything is sent (see spooled-report-buffer.ts).
      dropped = buffer.push(report);
    } catch (err) {
      log.error({ err: (err as Error).message, seq }, 'cannot buffer the report (disk full?); it is lost');
      return;
    }
    if (dropped > 0 && Date.now() - lastDropWarningMs >= 60_000) {
      lastDropWarningMs = Date.now();
      log.warn(
        { droppedTotal: buffer.droppedTotal, capacity: buffer.capacity, diskBytes: buffer.diskBytes },
        'report buffer full: dropping the oldest unacked reports',
      );
    }
    client!.notify();
  }

  function applyInterval(hubIntervalMs: number): void {
    const wanted = hubIntervalMs > 0 ? hubIntervalMs : config.intervalMs;
    if (wanted === intervalMs) return;
    log.info({ from: intervalMs, to: wanted }, 'sampling interval changed');
    intervalMs = wanted;
    anchorMs = Date.now();
    if (!inFlight) schedule();
  }

  function reconcile(hubLastSeq: number, highestSentSeq: number): void {
    const store = seqStore!;
    const [firstUnsent] = buffer!.after(highestSentSeq, 1);
    const plan = planAfterWelcome({
      hubLastSeq,
      highestSentSeq,
      firstUnsentSeq: firstUnsent === undefined ? undefined : Number(firstUnsent.seq),
      unsentCount: buffer!.countAfter(highestSentSeq),
      nextSeq: store.nextSeq,
    });
    buffer!.ack(plan.ackUpTo);
    if (plan.renumberFrom !== undefined) {
      const count = buffer!.renumber(highestSentSeq, plan.renumberFrom);
      log.warn(
        { hubLastSeq, renumbered: count, from: plan.renumberFrom, seqFileRestored: store.restored },
        'the hub already holds these seqs from an earlier run; renumbering the unsent reports after them',
      );
    }
    store.advanceTo(plan.nextSeq);
  }

  /** The seq file and the report spool in DATA_DIR (restores what a previous run left). */
  async function openStorage(): Promise<void> {
    seqStore = await openSeqStore({
      dataDir: config.dataDir,
      machineId: config.machineId,
      onWriteError: (err) => log.error({ err: (err as Error).message }, 'cannot write the seq file'),
    });
    buffer =
      config.bufferMaxBytes > 0
        ? openSpooledReportBuffer({
            dir: spoolDirFor(config.dataDir, config.machineId),
            memoryCapacity: config.bufferCapacity,
            maxBytes: config.bufferMaxBytes,
            fsyncIntervalMs: config.bufferFsyncIntervalMs,
            log,
          })
        : createReportBuffer(config.bufferCapacity);
    // The seq file is written at most once a second; the spool knows the last seq for sure.
    seqStore.advanceTo(buffer.lastSeq + 1);
    if (buffer.size > 0) log.info({ reports: buffer.size, lastSeq: buffer.lastSeq }, 'unacked reports restored from the spool; they are sent first');
  }

  return {
    async start() {
      const ca = config.hubCaFile === undefined ? undefined : await readConfigFile('AGGREGATOR_CA_FILE (--hub-ca)', config.hubCaFile);
      try {
        await openStorage();
      } catch (err) {
        if (typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
        throw new ConfigError(`DATA_DIR (--data-dir): cannot use ${config.dataDir} (${fileErrorReason(err)})`);
      }
      const [info] = await Promise.all([sampler.describe(), sampler.prime(), extraSources.start()]);
      client = createIngestClient({
        hubUrl: config.hubUrl,
        token: config.token,
        ca,
        // Restored reports may have reached the hub before the restart: the Welcome sorts them out.
        initialSentSeq: buffer!.lastSeq,
        hello: {
          machineId: config.machineId,
          hostname: config.hostname,
          displayName: config.displayName,
          labels: { ...config.labels },
          collectorVersion: COLLECTOR_VERSION,
          ...info,
        },
        buffer: buffer!,
        log,
        onWelcome: reconcile,
        onSettings: applyInterval,
        backoff: deps.backoff,
        random: deps.random,
        // Only where someone can act on it (the CLI exits 2); `sysmonstm all` knows its own hub's port.
        ...(deps.onFatal && { diagnose: async (url: string) => diagnoseHubPort(url, await probeHubPort(url)), onFatal: deps.onFatal }),
      });
      client.start();
      anchorMs = Date.now();
      schedule();
      log.info(
        { hub: config.hubUrl, machine: config.machineId, intervalMs, sampler: sampler.kind, nextSeq: seqStore!.nextSeq },
        'collector started',
      );
    },
    close() {
      closed ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await inFlight;
        await client?.close();
        await extraSources.close();
        await buffer?.close();
        await seqStore?.close();
        if (buffer && buffer.size > 0) {
          log.warn(
            { unacked: buffer.size, spooled: buffer.diskBytes > 0 },
            buffer.diskBytes > 0 ? 'collector closed with unacked reports; they stay in the spool and are sent after the restart' : 'collector closed with unacked reports (memory only: they are lost)',
          );
        }
      })();
      return closed;
    },
    get intervalMs() {
      return intervalMs;
    },
    get buffer() {
      if (!buffer) throw new Error('the collector has not started');
      return buffer;
    },
    get client() {
      if (!client) throw new Error('the collector has not started');
      return client;
    },
  };
}
