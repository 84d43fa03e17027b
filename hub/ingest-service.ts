// IngestService.Stream: a collector sends Hello then Reports; the hub validates each report,
// updates current state, publishes an event, hands the row to the batching history writer, and acks
// the highest seq made durable (per stream at most once per turn of the event loop, or per ACK_DELAY:
// acks are cumulative, a late one only keeps reports longer in the collector's buffer). Replays are
// deduplicated by (machine_id, seq): a seq at or below what history already holds is acked at once
// and otherwise ignored.
//
// What happens to each message and report (duplicate, reject, accept, and the order of those checks) is
// decided by ingest-decision.ts; this module does the I/O around it. A refused report gets a Reject and
// never raises the machine's high-water mark, so it cannot make the real collector's reports look like
// duplicates. One live stream per machine id: a second stream for the
// same id replaces the first (ABORTED, with a warning in the log), so two collectors on one id cannot
// mix their reports silently. Names and labels are stored neutralised (text-sanitizer.ts).
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { IngestService, StreamResponseSchema, type Hello, type StreamRequest, type StreamResponse } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { summarize } from '../proto/metrics.ts';
import { sourceProblems } from '../proto/source-health.ts';
import { createAsyncQueue } from './async-queue.ts';
import type { CollectorAuth } from './collector-auth.ts';
import type { EventBus } from './events/event-bus.ts';
import type { HistoryRow, HistoryStore } from './history/history-store.ts';
import type { Logger } from './log.ts';
import type { MachineRecord, StateStore } from './state/state-store.ts';
import { carryTopProcesses, type TopProcessesCarry } from './top-processes-carry.ts';
import { createLiveBatcher } from './live-batcher.ts';
import { boundReportForState } from './state/bound-report.ts';
import { neutralizeHello, neutralizeReport } from './text-sanitizer.ts';
import { decideAdmission, decideMessage, decideReport, type ReportBookkeeping } from './ingest-decision.ts';
import { DEFAULT_INTERVAL_MS } from '../proto/status.ts';

export interface HistorySink {
  /** Resolves once the row is durable. */
  add(row: HistoryRow): Promise<void>;
  /** Backpressure (history-writer.ts ready()): a promise to wait on before reading more, or undefined. */
  ready?(): Promise<void> | undefined;
}

export interface IngestStats {
  reportsAccepted: number;
  reportsDuplicate: number;
  reportsRejected: number;
  streamsOpen: number;
  /** Streams refused before any report: bad or missing token, wrong machine, invalid hello, MAX_MACHINES. */
  streamsRefused: number;
  /** Reports stored in history whose live update (current state + event) was superseded by a newer
   * report of the same machine before it could run: only under overload, bounding the hub's memory. */
  liveUpdatesSuperseded: number;
  /** Streams closed because a newer stream for the same machine id said hello. */
  streamsReplaced: number;
  /** Reports whose latest-report copy in current state was trimmed to the state byte cap. */
  reportsTrimmedForState: number;
}

interface LiveUpdate {
  record: MachineRecord;
  /** Encoded (and bounded) only when its batch is written: a superseded update is never encoded. */
  report: Report;
  receivedAtMs: number;
  receivedAtHrMs: number;
}

export interface IngestDeps {
  state: StateStore;
  events: EventBus;
  history: Pick<HistoryStore, 'lastSeq'>;
  writer: HistorySink;
  log: Logger;
  maxMachines: number;
  /** Collector tokens (COLLECTOR_TOKEN / COLLECTOR_TOKENS_FILE); undefined = every collector is accepted. */
  auth?: CollectorAuth;
  /** Interval the owner wants this machine to sample at (0 = the collector's own), asked at every hello. */
  intervalFor?: (machineId: string) => number | Promise<number>;
  /** Called once a report's state update and event are published, with the time since receipt (ms, high resolution). */
  onPublished?: (latencyMs: number) => void;
  /** Reports older than this are refused (the raw history retention; capped by LIMITS.maxAgeMs). */
  maxReportAgeMs?: number;
  /** Byte cap of the latest report kept in current state (default STATE_REPORT_MAX_BYTES). */
  stateReportMaxBytes?: number;
  /**
   * Live updates (current state + events) are written in batches this long after the first (default
   * LIVE_BATCH_DELAY_MS; 0: next turn of the event loop); live-batcher.ts says when sooner or later.
   */
  liveBatchDelayMs?: number;
  /**
   * ACK_DELAY: acks of every stream go out together at most this long after the first became due
   * (0: next turn of the event loop). Acks are cumulative, so a stream whose reports arrive faster than
   * this gets one ack for several; the collector keeps them in its buffer meanwhile.
   */
  ackDelayMs?: number;
  now?: () => number;
}

/** Who opened a stream: what the transport read from the request headers. */
export interface StreamCaller {
  authorization: string | null | undefined;
  forwardedFor?: string | null;
}

/** Where a stream's responses go (the transport: Connect's response iterable, or ingest-h2.ts). */
export interface StreamOutput {
  push(res: StreamResponse): void;
  /** The stream ends with this error (a ConnectError, or anything toConnectError maps). */
  fail(err: unknown): void;
  /** The stream ends with OK. */
  end(): void;
}

/**
 * One open IngestService.Stream, driven by its transport: receive() each request in order and wait for
 * what it returns before the next (the hello's checks, history backpressure), finish() when the client
 * half-closed, close() once when the stream is over for any reason (the transport's clean-up).
 */
export interface IngestStreamSession {
  /** False once the stream failed or ended: deliver nothing more. */
  readonly open: boolean;
  receive(req: StreamRequest): Promise<void> | undefined;
  /** The request side broke (a frame that does not parse, a message over the size cap). */
  fail(err: unknown): void;
  finish(): void;
  close(): void;
}

/** What every open stream is ended with when the hub closes (the collector reconnects to the next hub). */
export function hubShuttingDown(): ConnectError {
  return new ConnectError('the hub is shutting down; reconnect', Code.Unavailable);
}

/** A stream must start with its Hello within this time. */
export const HELLO_TIMEOUT_MS = 10_000;

/**
 * How long a live update may wait for others before the batch is written. Collectors report at their
 * own phases, so without a wait each report is its own Redis round trip (at 1,000 machines × 1 Hz, a
 * thousand state scripts and a thousand publish scripts a second); 20 ms gathers ~20 of them per write
 * there, and costs a dashboard nothing it can see (it pushes every LIVE_PUSH_INTERVAL, 250 ms).
 */
export const LIVE_BATCH_DELAY_MS = 20;

/**
 * What the request side throws (a frame that does not parse, a compressed frame without an encoding)
 * is the client's fault: INVALID_ARGUMENT, not the INTERNAL the protocol layer reports.
 */
function malformedRequest(err: unknown): unknown {
  if (err instanceof ConnectError && err.code === Code.Internal) return new ConnectError(`malformed request: ${err.rawMessage}`, Code.InvalidArgument);
  return err;
}

export function createIngestService(deps: IngestDeps): ServiceImpl<typeof IngestService> & {
  stats: IngestStats;
  /**
   * A machine was forgotten (machine-forgetter.ts): without a live stream here, what this hub cached
   * about it goes, so its next hello is a new machine again, counted against MAX_MACHINES (its seq
   * is read from history again).
   */
  machineForgotten(machineId: string): void;
  /** Sends Settings to the machine's live stream on this hub; false when it has none here. */
  pushSettings(machineId: string, settings: { intervalMs: number }): boolean;
  /** Sends every ack waiting for ACK_DELAY now (the hub is closing). */
  flushAcks(): void;
  /** Resolves once the live updates waiting for their batch (LIVE_BATCH_DELAY_MS) are written (the hub is closing). */
  drainLive(): Promise<void>;
  /** A stream without Connect's async iterables (ingest-h2.ts); throws when the caller's token is refused. */
  openStream(caller: StreamCaller, out: StreamOutput): IngestStreamSession;
} {
  const now = deps.now ?? Date.now;
  const reportCheck = { maxAgeMs: deps.maxReportAgeMs };
  const stats: IngestStats = {
    reportsAccepted: 0,
    reportsDuplicate: 0,
    reportsRejected: 0,
    streamsOpen: 0,
    streamsRefused: 0,
    liveUpdatesSuperseded: 0,
    streamsReplaced: 0,
    reportsTrimmedForState: 0,
  };
  /** The live stream of each machine id: a newer one closes it. */
  const liveStreams = new Map<string, { close(): void; send(res: StreamResponse): void }>();
  /** Highest durable seq per machine, learned from history once and kept current by acks. */
  const durableSeq = new Map<string, number>();
  /**
   * Highest seq accepted per machine by any stream, with its history write: a second stream for the
   * same machine (a reconnect while the old one lingers, or a replay) cannot store that seq again
   * under another timestamp; its duplicates are acked only once that write is durable. Forgotten when
   * the write fails, so the collector's resend is stored.
   */
  const latest = new Map<string, { seq: number; written: Promise<unknown> }>();

  /** Current state and events of every stream, written per batch (live-batcher.ts): one state write and one publish per batch. */
  const live = createLiveBatcher<LiveUpdate>({
    delayMs: deps.liveBatchDelayMs ?? LIVE_BATCH_DELAY_MS,
    async flush(updates) {
      const items = updates.map((u) => {
        // Unknown fields are not kept: what a collector invents is not stored. Big lists are trimmed to
        // the state byte cap (the full report is ~1 MiB at worst; current state keeps one per machine).
        const bounded = boundReportForState(u.report, deps.stateReportMaxBytes);
        if (bounded.trimmed) stats.reportsTrimmedForState++;
        return { record: u.record, report: bounded.bytes };
      });
      try {
        if (deps.state.putMany) await deps.state.putMany(items);
        else await Promise.all(items.map((i) => deps.state.put(i.record, i.report)));
      } catch (err) {
        deps.log.warn({ err: (err as Error).message, machines: items.length }, 'state update failed');
      }
      const events = updates.map((u) => ({ record: u.record, receivedAtMs: u.receivedAtMs }));
      try {
        if (deps.events.publishMany) await deps.events.publishMany(events);
        else await Promise.all(events.map((e) => deps.events.publish(e)));
        if (deps.onPublished) {
          const t = performance.now();
          for (const u of updates) deps.onPublished(t - u.receivedAtHrMs);
        }
      } catch (err) {
        deps.log.warn({ err: (err as Error).message, machines: events.length }, 'event publish failed');
      }
    },
    onError(err, updates) {
      deps.log.warn({ err: (err as Error).message, machines: updates.length }, 'live update failed');
    },
  });

  /**
   * Streams with an ack waiting: sent once per stream per turn of the event loop (ACK_DELAY 0) or per
   * ACK_DELAY, the highest seq only. One timer for all streams.
   */
  const acksDue = new Set<() => void>();
  const ackDelayMs = deps.ackDelayMs ?? 0;
  let acksScheduled = false;
  let ackTimer: NodeJS.Timeout | undefined;
  const sendAcks = () => {
    acksScheduled = false;
    if (ackTimer) clearTimeout(ackTimer);
    ackTimer = undefined;
    for (const send of acksDue) send();
    acksDue.clear();
  };
  const scheduleAcks = () => {
    if (acksScheduled) return;
    acksScheduled = true;
    if (ackDelayMs > 0) {
      ackTimer = setTimeout(sendAcks, ackDelayMs);
      ackTimer.unref();
    } else setImmediate(sendAcks);
  };

  async function knownDurableSeq(machineId: string): Promise<number> {
    const cached = durableSeq.get(machineId);
    if (cached !== undefined) return cached;
    const stored = await deps.history.lastSeq(machineId);
    const current = durableSeq.get(machineId) ?? 0;
    durableSeq.set(machineId, Math.max(stored, current));
    return Math.max(stored, current);
  }

  /**
   * New machines admitted but not yet in current state (their first report is on its way): counted
   * against MAX_MACHINES too, so thousands of hellos at once cannot all slip under the limit.
   */
  const admitting = new Set<string>();

  /** Returns true when this call reserved a place for a new machine (released by the caller). */
  async function admitMachine(machineId: string): Promise<boolean> {
    if (durableSeq.has(machineId) || admitting.has(machineId) || (await deps.state.get(machineId))) return false;
    const count = await deps.state.count();
    if (admitting.has(machineId)) return false;
    const admission = decideAdmission(count, admitting.size, deps.maxMachines);
    if (admission !== 'admit') throw new ConnectError(admission.message, admission.code);
    admitting.add(machineId);
    return true;
  }

  function openStream(caller: StreamCaller, out: StreamOutput): IngestStreamSession {
    let grant;
    try {
      grant = deps.auth?.authenticate(caller.authorization ?? null);
    } catch (err) {
      stats.streamsRefused++;
      deps.log.warn({ err: (err as Error).message, peer: caller.forwardedFor ?? undefined }, 'collector refused');
      throw err;
    }
    stats.streamsOpen++;
    /** The new machine this stream reserved a place for, until its first report is in current state. */
    let reserved: string | undefined;
    const release = () => {
      if (reserved) admitting.delete(reserved);
      reserved = undefined;
    };
    let hello: Hello | undefined;
    /** What this stream's reports are decided against (ingest-decision.ts); filled in at hello. */
    const book: ReportBookkeeping = { machineId: '', helloLabels: {}, replaced: false, lastInStream: 0, acceptedSeq: 0, durableSeq: 0 };
    const thisStream = {
      close: () => {
        book.replaced = true;
        fail(new ConnectError('a newer stream for the same machine id replaced this one', Code.Aborted));
      },
      // Settings pushed before this stream's Welcome wait for it (the Welcome comes first on a stream).
      send: (res: StreamResponse) => {
        if (welcomed) out.push(res);
        else heldSettings = res;
      },
    };
    let welcomed = false;
    let heldSettings: StreamResponse | undefined;
    let lastAcked = 0;
    /** Acks waiting for their rows to be durable, in arrival order (an ack never overtakes an earlier report). */
    const waiting: Array<{ seq: number; stored: boolean; done: boolean }> = [];
    let waitingHead = 0;
    let writeFailed = false;
    let whenSettled: (() => void) | undefined;
    let sideEffects: Promise<unknown> = Promise.resolve();
    /** Current state and the event are live views: they never hold up durability or acks, and when
     * they fall behind, a newer report replaces the waiting one instead of queueing without bound. */
    const updateLive = (u: LiveUpdate) => {
      const written = live.add(u.record.id, u);
      stats.liveUpdatesSuperseded = live.stats.superseded;
      sideEffects = reserved ? written.then(release) : written;
    };

    /** `stored`: the seq is in history (moves the machine's durable seq); false for a refused report,
     * acked on this stream only so the collector stops resending it. */
    let ackSent = 0;
    const sendAck = () => {
      if (lastAcked <= ackSent) return;
      ackSent = lastAcked;
      out.push(create(StreamResponseSchema, { kind: { case: 'ack', value: { seq: BigInt(ackSent) } } }));
    };
    const ack = (seq: number, stored: boolean) => {
      if (seq <= lastAcked) return;
      lastAcked = seq;
      const id = hello!.machineId;
      if (stored) durableSeq.set(id, Math.max(durableSeq.get(id) ?? 0, seq));
      // Acks are cumulative: the seqs a history batch made durable go out as one ack per stream.
      acksDue.add(sendAck);
      scheduleAcks();
    };
    /** Acks the settled prefix of `waiting`. */
    const drainWaiting = () => {
      if (writeFailed) return;
      while (waitingHead < waiting.length && waiting[waitingHead].done) {
        const w = waiting[waitingHead++];
        ack(w.seq, w.stored);
      }
      if (waitingHead === waiting.length) {
        waiting.length = 0;
        waitingHead = 0;
        whenSettled?.();
        whenSettled = undefined;
      } else if (waitingHead > 1024) {
        waiting.splice(0, waitingHead);
        waitingHead = 0;
      }
    };
    const writeFailedNow = (err: unknown) => {
      if (writeFailed) return;
      writeFailed = true;
      deps.log.error({ err, machine: hello?.machineId }, 'history write failed; closing the stream so the collector replays');
      fail(new ConnectError('history is unavailable; reconnect and replay', Code.Unavailable));
      whenSettled?.();
      whenSettled = undefined;
    };
    /** Resolves once every waiting ack is sent, or a write failed (the stream is failed then). */
    const allSettled = () => (writeFailed || waitingHead === waiting.length ? Promise.resolve() : new Promise<void>((r) => (whenSettled = r)));
    /** Acks `seq` once everything before it is durable and `durable` has settled (undefined: nothing to wait for). */
    const ackAfter = (seq: number, durable: Promise<unknown> | undefined, stored = true, onFailed?: () => void) => {
      const w = { seq, stored, done: false };
      waiting.push(w);
      if (!durable) {
        w.done = true;
        drainWaiting();
        return;
      }
      durable.then(
        () => {
          w.done = true;
          drainWaiting();
        },
        (err: unknown) => {
          onFailed?.();
          writeFailedNow(err);
        },
      );
    };

    /** A hello decideMessage validated. */
    const handleHello = async (h: Hello) => {
      if (grant) deps.auth!.authorize(grant, h.machineId);
      if (await admitMachine(h.machineId)) reserved = h.machineId;
      if (over) {
        // The stream failed or closed meanwhile (a bad frame behind the hello, a reset, shutdown): it
        // must not become the machine's live stream nor keep the place it reserved.
        release();
        return;
      }
      neutralizeHello(h);
      hello = h;
      book.machineId = h.machineId;
      book.helloLabels = h.labels;
      const previousStream = liveStreams.get(h.machineId);
      liveStreams.set(h.machineId, thisStream);
      if (previousStream) {
        stats.streamsReplaced++;
        deps.log.warn({ machine: h.machineId }, 'a second stream for this machine id: the older stream is closed (two collectors with one MACHINE_ID?)');
        previousStream.close();
      }
      const lastSeq = await knownDurableSeq(h.machineId);
      const intervalMs = (await deps.intervalFor?.(h.machineId)) ?? 0;
      lastAcked = lastSeq;
      ackSent = lastSeq;
      book.lastInStream = lastSeq; // what another stream accepted but did not make durable yet is caught by `latest`
      out.push(
        create(StreamResponseSchema, {
          kind: { case: 'welcome', value: { lastSeq: BigInt(lastSeq), settings: { intervalMs } } },
        }),
      );
      welcomed = true;
      if (heldSettings) out.push(heldSettings);
      deps.log.info({ machine: h.machineId, hostname: h.hostname, lastSeq, intervalMs }, 'collector connected');
    };

    let topProcesses: TopProcessesCarry | undefined;
    const reject = (report: Report, reason: string, ackable: boolean) => {
      stats.reportsRejected++;
      deps.log.warn({ machine: hello!.machineId, seq: String(report.seq), reason }, 'report rejected');
      out.push(create(StreamResponseSchema, { kind: { case: 'reject', value: { seq: report.seq, reason } } }));
      if (ackable) ackAfter(Number(report.seq), undefined, false);
    };

    const handleReport = (report: Report) => {
      const h = hello!;
      const receivedAtMs = now();
      const receivedAtHrMs = performance.now();
      const previous = latest.get(h.machineId);
      book.acceptedSeq = previous?.seq ?? 0;
      book.durableSeq = durableSeq.get(h.machineId) ?? 0;
      const decision = decideReport(book, report, receivedAtMs, reportCheck);
      if (decision.verdict === 'fail') throw new ConnectError(decision.message, decision.code);
      book.lastInStream = decision.lastInStream;
      if (decision.verdict === 'reject') {
        reject(report, decision.reason, decision.ackable);
        return;
      }
      const seq = decision.seq;
      if (decision.verdict === 'duplicate') {
        stats.reportsDuplicate++;
        ackAfter(seq, previous?.written);
        return;
      }
      neutralizeReport(report);
      const mergedLabels = { ...h.labels, ...report.labels };
      const timeMs = Number(report.timestampMs);
      stats.reportsAccepted++;
      topProcesses = carryTopProcesses(topProcesses, report);
      const metrics = summarize(report);
      const hostname = report.hostname || h.hostname || h.machineId;
      const record: MachineRecord = {
        id: h.machineId,
        hostname,
        displayName: report.displayName || h.displayName || hostname,
        labels: mergedLabels,
        lastSeenMs: receivedAtMs,
        sampledAtMs: timeMs,
        lastSeq: seq,
        intervalMs: report.intervalMs || DEFAULT_INTERVAL_MS,
        metrics,
        problems: sourceProblems(report),
      };
      updateLive({ record, report, receivedAtMs, receivedAtHrMs });
      const written = deps.writer.add({ machineId: h.machineId, seq, timeMs, metrics });
      const entry = { seq, written };
      latest.set(h.machineId, entry);
      ackAfter(seq, written, true, () => {
        if (latest.get(h.machineId) === entry) latest.delete(h.machineId);
      });
    };

    /** Set once the stream failed or ended (out.fail / out.end called): no further message is handled. */
    let over = false;
    const fail = (err: unknown) => {
      if (over) return;
      over = true;
      clearTimeout(helloTimer);
      if (!hello && err instanceof ConnectError) stats.streamsRefused++;
      out.fail(err);
    };
    // A stream that never says hello holds a slot for nothing.
    const helloTimer = setTimeout(() => {
      if (!hello) fail(new ConnectError(`no hello within ${HELLO_TIMEOUT_MS / 1000} s`, Code.DeadlineExceeded));
    }, HELLO_TIMEOUT_MS);
    helloTimer.unref();
    // History is behind: read no more reports until it caught up (the collector waits; nothing is
    // lost). The hello is always read, so a new stream does not run into the hello timeout.
    const backlog = () => (hello ? deps.writer.ready?.() : undefined);
    let closed = false;
    return {
      get open() {
        return !over;
      },
      receive(req) {
        if (over) return undefined;
        try {
          const step = decideMessage(req, hello !== undefined);
          if (typeof step === 'object') throw new ConnectError(step.message, step.code);
          if (req.kind.case === 'report') handleReport(req.kind.value);
          else if (req.kind.case === 'hello') {
            return handleHello(req.kind.value).then(backlog, fail);
          }
        } catch (err) {
          fail(err);
          return undefined;
        }
        return backlog();
      },
      fail,
      finish() {
        if (over) return;
        clearTimeout(helloTimer);
        void (async () => {
          await allSettled();
          await sideEffects;
        })().then(
          () => {
            if (over) return;
            over = true;
            acksDue.delete(sendAck);
            sendAck();
            out.end();
          },
          fail,
        );
      },
      close() {
        if (closed) return;
        closed = true;
        over = true;
        clearTimeout(helloTimer);
        stats.streamsOpen--;
        acksDue.delete(sendAck);
        if (hello && liveStreams.get(hello.machineId) === thisStream) liveStreams.delete(hello.machineId);
        void sideEffects.finally(release);
        if (hello) deps.log.info({ machine: hello.machineId, lastAcked }, 'collector disconnected');
      },
    };
  }

  return {
    stats,
    machineForgotten(machineId) {
      if (!liveStreams.has(machineId)) durableSeq.delete(machineId);
    },
    pushSettings(machineId, settings) {
      const live = liveStreams.get(machineId);
      if (!live) return false;
      live.send(create(StreamResponseSchema, { kind: { case: 'settings', value: { intervalMs: settings.intervalMs } } }));
      return true;
    },
    flushAcks() {
      if (acksScheduled && ackTimer) sendAcks();
    },
    drainLive: () => live.drain(),
    openStream,
    async *stream(requests: AsyncIterable<StreamRequest>, ctx?: HandlerContext) {
      const out = createAsyncQueue<StreamResponse>();
      const session = openStream({ authorization: ctx?.requestHeader.get('authorization'), forwardedFor: ctx?.requestHeader.get('x-forwarded-for') }, out);
      // The call's deadline (grpc-timeout), the hub closing, or the client gone: the stream ends with it.
      const signal = ctx?.signal;
      const onAbort = () => session.fail(signal!.reason instanceof ConnectError ? signal!.reason : hubShuttingDown());
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      void (async () => {
        const iterator = requests[Symbol.asyncIterator]();
        while (session.open) {
          let next: IteratorResult<StreamRequest>;
          try {
            next = await iterator.next();
          } catch (err) {
            session.fail(malformedRequest(err));
            return;
          }
          if (next.done) {
            session.finish();
            return;
          }
          const wait = session.receive(next.value);
          if (wait) await wait;
        }
      })();
      try {
        yield* out;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        session.close();
      }
    },
  };
}
