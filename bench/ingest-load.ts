// The parent's side of bench/ingest-load-worker.ts: shares N simulated collectors out over a few worker
// processes (a single Node process cannot drive 10,000 gRPC streams and stay on time on a small
// machine), starts them together, sums their counters, and closes them.
import type { LoadCounters, OpenCommand, RunCommand } from './ingest-load-worker.ts';
import { forkChild } from './ipc-child.ts';

export type { LoadCounters };

export interface LoadPlan {
  hubUrl: string;
  idPrefix: string;
  streams: number;
  workers: number;
  streamsPerConnection?: number;
  openConcurrency?: number;
  headers?: Record<string, string>;
}

export interface RunPlan {
  mode: 'rate' | 'max';
  periodMs?: number;
  window?: number;
  durationMs: number;
  maxReportsPerStream?: number;
  drainTimeoutMs?: number;
  /** Delay before the first send, so every worker starts on the same clock tick. */
  startInMs?: number;
  /**
   * rate: sends are grouped into slots this long (default 10: ten streams of a 1,000-stream step send in
   * the same millisecond; 1: each at its own, as independent collectors do).
   */
  slotMs?: number;
}

export interface RunOutcome {
  startAtMs: number;
  /** When the last worker stopped sending, and the counters then. */
  sentAllAtMs: number;
  sentAll: LoadCounters;
  /** When the last worker had every report acked (or gave up), and the counters then. */
  drainedAtMs: number;
  drained: LoadCounters;
}

export interface LoadGenerator {
  readonly pids: number[];
  readonly opened: { streams: number; failed: number; ms: number };
  /** Starts a run; resolves when every worker is drained. */
  run(plan: RunPlan): { startAtMs: number; done: Promise<RunOutcome> };
  snapshot(): Promise<LoadCounters>;
  close(): Promise<LoadCounters>;
}

export function sumCounters(list: readonly LoadCounters[]): LoadCounters {
  const total: LoadCounters = { streams: 0, sent: 0, acked: 0, rejected: 0, streamErrors: 0, unackedStreams: 0, unackedReports: 0, lateSends: 0, firstErrors: [] };
  for (const c of list) {
    total.streams += c.streams;
    total.sent += c.sent;
    total.acked += c.acked;
    total.rejected += c.rejected;
    total.streamErrors += c.streamErrors;
    total.unackedStreams += c.unackedStreams;
    total.unackedReports += c.unackedReports;
    total.lateSends += c.lateSends;
    total.firstErrors.push(...c.firstErrors);
  }
  total.firstErrors = total.firstErrors.slice(0, 5);
  return total;
}

export async function startLoad(plan: LoadPlan): Promise<LoadGenerator> {
  const workerCount = Math.max(1, Math.min(plan.workers, plan.streams));
  const workers = Array.from({ length: workerCount }, () => forkChild('ingest-load-worker.ts'));
  const share = Math.ceil(plan.streams / workerCount);
  const opened = await Promise.all(
    workers.map((w, i) => {
      const firstIndex = i * share;
      const count = Math.max(0, Math.min(share, plan.streams - firstIndex));
      const msg: OpenCommand = {
        cmd: 'open',
        hubUrl: plan.hubUrl,
        idPrefix: plan.idPrefix,
        firstIndex,
        count,
        streamsPerConnection: plan.streamsPerConnection ?? 100,
        openConcurrency: plan.openConcurrency ?? 200,
        headers: plan.headers,
      };
      const reply = w.next<Record<string, unknown>>('opened');
      w.send(msg);
      return reply;
    }),
  );
  const summary = {
    streams: opened.reduce((n, o) => n + Number(o.streams), 0),
    failed: opened.reduce((n, o) => n + Number(o.failed), 0),
    ms: Math.max(...opened.map((o) => Number(o.ms))),
  };
  if (summary.failed > 0) {
    const errors = sumCounters(opened.map((o) => o.counters as LoadCounters)).firstErrors;
    throw new Error(`${summary.failed} of ${plan.streams} streams could not open: ${errors.join('; ')}`);
  }
  let snapshotId = 0;
  let closed: Promise<LoadCounters> | undefined;
  return {
    pids: workers.map((w) => w.pid),
    opened: summary,
    run(runPlan) {
      const startAtMs = Date.now() + (runPlan.startInMs ?? 500);
      const sentAll = workers.map((w) => w.next<Record<string, unknown>>('sent-all'));
      const drained = workers.map((w) => w.next<Record<string, unknown>>('drained'));
      for (const w of workers) {
        const msg: RunCommand = {
          cmd: 'run',
          mode: runPlan.mode,
          periodMs: runPlan.periodMs ?? 1000,
          window: runPlan.window ?? 64,
          durationMs: runPlan.durationMs,
          maxReportsPerStream: runPlan.maxReportsPerStream ?? Number.MAX_SAFE_INTEGER,
          drainTimeoutMs: runPlan.drainTimeoutMs ?? 30_000,
          startAtMs,
          totalStreams: plan.streams,
          slotMs: runPlan.slotMs ?? 10,
        };
        w.send(msg);
      }
      const done = (async (): Promise<RunOutcome> => {
        const s = await Promise.all(sentAll);
        const d = await Promise.all(drained);
        return {
          startAtMs,
          sentAllAtMs: Math.max(...s.map((m) => Number(m.atMs))),
          sentAll: sumCounters(s.map((m) => m.counters as LoadCounters)),
          drainedAtMs: Math.max(...d.map((m) => Number(m.atMs))),
          drained: sumCounters(d.map((m) => m.counters as LoadCounters)),
        };
      })();
      return { startAtMs, done };
    },
    async snapshot() {
      const id = ++snapshotId;
      const replies = await Promise.all(
        workers.map((w) => {
          const reply = w.next<Record<string, unknown>>('snapshot');
          w.send({ cmd: 'snapshot', id });
          return reply;
        }),
      );
      return sumCounters(replies.map((r) => r.counters as LoadCounters));
    },
    close() {
      closed ??= (async () => {
        const replies = await Promise.all(
          workers.map(async (w) => {
            const reply = w.next<Record<string, unknown>>('closed').catch(() => undefined);
            await w.close({ cmd: 'close' }, 45_000);
            return reply;
          }),
        );
        return sumCounters(replies.filter((r) => r !== undefined).map((r) => r!.counters as LoadCounters));
      })();
      return closed;
    },
  };
}
