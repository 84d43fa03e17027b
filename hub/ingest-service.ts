// IngestService.Stream: a collector sends Hello then Reports; the hub validates each report,
// updates current state, publishes an event, hands the row to the batching history writer, and acks
// the highest seq made durable. Replays are deduplicated by (machine_id, seq): a seq at or below
// what history already holds is acked at once and otherwise ignored.
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { IngestService, StreamResponseSchema, type Hello, type StreamRequest, type StreamResponse } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ReportSchema, type Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { summarize } from '../proto/metrics.ts';
import { createAsyncQueue } from './async-queue.ts';
import type { EventBus } from './events/event-bus.ts';
import type { HistoryRow, HistoryStore } from './history/history-store.ts';
import type { Logger } from './log.ts';
import type { MachineRecord, StateStore } from './state/state-store.ts';
import { validateHello, validateReport } from './validate-report.ts';

export interface HistorySink {
  /** Resolves once the row is durable. */
  add(row: HistoryRow): Promise<void>;
}

export interface IngestStats {
  reportsAccepted: number;
  reportsDuplicate: number;
  reportsRejected: number;
  streamsOpen: number;
}

export interface IngestDeps {
  state: StateStore;
  events: EventBus;
  history: Pick<HistoryStore, 'lastSeq'>;
  writer: HistorySink;
  log: Logger;
  maxMachines: number;
  /** Interval the owner wants this machine to sample at (0 = the collector's own). */
  intervalFor?: (machineId: string) => number;
  now?: () => number;
}

export function createIngestService(deps: IngestDeps): ServiceImpl<typeof IngestService> & { stats: IngestStats } {
  const now = deps.now ?? Date.now;
  const stats: IngestStats = { reportsAccepted: 0, reportsDuplicate: 0, reportsRejected: 0, streamsOpen: 0 };
  /** Highest durable seq per machine, learned from history once and kept current by acks. */
  const durableSeq = new Map<string, number>();

  async function knownDurableSeq(machineId: string): Promise<number> {
    const cached = durableSeq.get(machineId);
    if (cached !== undefined) return cached;
    const stored = await deps.history.lastSeq(machineId);
    const current = durableSeq.get(machineId) ?? 0;
    durableSeq.set(machineId, Math.max(stored, current));
    return Math.max(stored, current);
  }

  async function admitMachine(machineId: string): Promise<void> {
    if (durableSeq.has(machineId) || (await deps.state.get(machineId))) return;
    if ((await deps.state.count()) >= deps.maxMachines) {
      throw new ConnectError(`the hub already tracks its limit of ${deps.maxMachines} machines (MAX_MACHINES)`, Code.ResourceExhausted);
    }
  }

  return {
    stats,
    async *stream(requests: AsyncIterable<StreamRequest>) {
      const out = createAsyncQueue<StreamResponse>();
      stats.streamsOpen++;
      let hello: Hello | undefined;
      let lastAcked = 0;
      let lastInStream = 0;
      let durableChain: Promise<unknown> = Promise.resolve();
      let sideEffects: Promise<unknown> = Promise.resolve();

      const ack = (seq: number) => {
        if (seq <= lastAcked) return;
        lastAcked = seq;
        const id = hello!.machineId;
        durableSeq.set(id, Math.max(durableSeq.get(id) ?? 0, seq));
        out.push(create(StreamResponseSchema, { kind: { case: 'ack', value: { seq: BigInt(seq) } } }));
      };
      /** Acks `seq` once everything before it is durable and `durable` has settled. */
      const ackAfter = (seq: number, durable: Promise<unknown>) => {
        const step = Promise.all([durableChain, durable]).then(() => ack(seq));
        durableChain = step;
        step.catch((err: unknown) => {
          deps.log.error({ err, machine: hello?.machineId }, 'history write failed; closing the stream so the collector replays');
          out.fail(new ConnectError('history is unavailable; reconnect and replay', Code.Unavailable));
        });
      };

      const handleHello = async (h: Hello) => {
        const problem = validateHello(h);
        if (problem) throw new ConnectError(`invalid hello: ${problem}`, Code.InvalidArgument);
        await admitMachine(h.machineId);
        hello = h;
        const lastSeq = await knownDurableSeq(h.machineId);
        lastAcked = lastSeq;
        lastInStream = lastSeq;
        out.push(
          create(StreamResponseSchema, {
            kind: { case: 'welcome', value: { lastSeq: BigInt(lastSeq), settings: { intervalMs: deps.intervalFor?.(h.machineId) ?? 0 } } },
          }),
        );
        deps.log.info({ machine: h.machineId, hostname: h.hostname, lastSeq }, 'collector connected');
      };

      const handleReport = (report: Report) => {
        const h = hello!;
        if (report.machineId !== h.machineId) {
          throw new ConnectError(`report for machine "${report.machineId}" on the stream of "${h.machineId}"`, Code.InvalidArgument);
        }
        if (report.seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new ConnectError('seq is beyond 2^53', Code.InvalidArgument);
        const seq = Number(report.seq);
        if (seq <= lastInStream) {
          stats.reportsDuplicate++;
          ackAfter(seq, Promise.resolve());
          return;
        }
        lastInStream = seq;
        const receivedAtMs = now();
        const problem = validateReport(report, receivedAtMs);
        if (problem) {
          stats.reportsRejected++;
          deps.log.warn({ machine: h.machineId, seq, reason: problem }, 'report rejected');
          out.push(create(StreamResponseSchema, { kind: { case: 'reject', value: { seq: report.seq, reason: problem } } }));
          ackAfter(seq, Promise.resolve());
          return;
        }
        const timeMs = Number(report.timestampMs);
        stats.reportsAccepted++;
        const metrics = summarize(report);
        const hostname = report.hostname || h.hostname || h.machineId;
        const record: MachineRecord = {
          id: h.machineId,
          hostname,
          displayName: report.displayName || h.displayName || hostname,
          labels: { ...h.labels, ...report.labels },
          lastSeenMs: receivedAtMs,
          sampledAtMs: timeMs,
          lastSeq: seq,
          intervalMs: report.intervalMs || 1000,
          metrics,
        };
        // Current state and the event are live views: they must not hold up durability or acks.
        const encoded = toBinary(ReportSchema, report);
        sideEffects = sideEffects
          .then(() => deps.state.put(record, encoded))
          .catch((err: unknown) => deps.log.warn({ err: (err as Error).message, machine: h.machineId }, 'state update failed'))
          .then(() => deps.events.publish({ record, receivedAtMs }))
          .catch((err: unknown) => deps.log.warn({ err: (err as Error).message, machine: h.machineId }, 'event publish failed'));
        ackAfter(seq, deps.writer.add({ machineId: h.machineId, seq, timeMs, metrics }));
      };

      const reading = (async () => {
        for await (const req of requests) {
          if (req.kind.case === 'hello') {
            if (hello) throw new ConnectError('hello sent twice on one stream', Code.InvalidArgument);
            await handleHello(req.kind.value);
          } else if (req.kind.case === 'report') {
            if (!hello) throw new ConnectError('the first message on a stream must be a hello', Code.FailedPrecondition);
            handleReport(req.kind.value);
          } else {
            throw new ConnectError('empty stream message', Code.InvalidArgument);
          }
        }
        await durableChain;
        await sideEffects;
      })();
      reading.then(
        () => out.end(),
        (err: unknown) => out.fail(err),
      );
      try {
        yield* out;
      } finally {
        stats.streamsOpen--;
        if (hello) deps.log.info({ machine: hello.machineId, lastAcked }, 'collector disconnected');
      }
    },
  };
}
