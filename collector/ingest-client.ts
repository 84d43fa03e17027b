// The collector's side of IngestService.Stream. One loop: connect (gRPC over HTTP/2), send Hello,
// wait for the Welcome, replay every buffered report in order, then send new reports as the sampler
// buffers them; apply Acks (drop acked reports), Settings (change the interval live) and log Rejects.
// When the stream fails the loop reconnects with backoff; reports stay buffered meanwhile, so nothing
// is lost while the hub is away (beyond the buffer's capacity, which drops the oldest and counts it).
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { HelloSchema, IngestService, StreamRequestSchema, type StreamRequest } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import { backoffDelayMs, DEFAULT_BACKOFF, nextAttempt, type BackoffOptions } from './backoff.ts';
import type { Logger } from './log.ts';
import type { ReportBuffer } from './report-buffer.ts';

export type HelloInit = MessageInitShape<typeof HelloSchema>;

export interface IngestClientOptions {
  hubUrl: string;
  /** Sent as `authorization: Bearer <token>` when set. */
  token?: string;
  /** PEM certificate(s) to trust for an https:// hub (a self-signed hub certificate); default: the system CAs. */
  ca?: string | Buffer;
  /**
   * Reports with seq <= this count as possibly sent before (restored from the spool after a restart):
   * the Welcome drops the ones the hub already holds instead of renumbering them.
   */
  initialSentSeq?: number;
  hello: HelloInit;
  buffer: ReportBuffer;
  log: Logger;
  /**
   * Called with welcome.last_seq before anything is replayed on a new stream; reconciles the buffer and
   * the seq counter with the hub (see seq-store.ts). `highestSentSeq` is the highest seq this process
   * has written to any stream.
   */
  onWelcome(hubLastSeq: number, highestSentSeq: number): void;
  /** The hub's wanted interval (0 = the collector's own). */
  onSettings(intervalMs: number): void;
  backoff?: BackoffOptions;
  random?: () => number;
  /** How long close() waits for the hub's final acks after ending the stream. */
  closeGraceMs?: number;
  /** A stream without a Welcome after this long (a peer that accepts but never answers) is dropped. */
  welcomeTimeoutMs?: number;
  /**
   * Asked after a failure while no stream has ever been welcomed: why the URL can never work (the
   * dashboard port, http:// to TLS), or undefined. A reason stops the client and goes to onFatal.
   */
  diagnose?: (hubUrl: string) => Promise<string | undefined>;
  onFatal?: (reason: string) => void;
}

/**
 * node:http2 may emit a second "error" on a session that failed (a peer speaking HTTP/1.1 answers the
 * preface with a 400) after connect-node has removed its listeners, which would be an uncaught
 * exception; connect-node has already handled the first one, so a listener that ignores the rest is
 * attached to every session a stream is opened on.
 */
class GuardedSessionManager extends Http2SessionManager {
  private readonly guarded = new WeakSet<object>();
  override async request(...args: Parameters<Http2SessionManager['request']>): ReturnType<Http2SessionManager['request']> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.guarded.has(session)) {
      this.guarded.add(session);
      session.on('error', () => {});
    }
    return stream;
  }
}

export interface IngestClient {
  start(): void;
  /** Tells the client the buffer has new reports. */
  notify(): void;
  /** Ends the stream (waiting briefly for final acks) and stops reconnecting. Idempotent. */
  close(): Promise<void>;
  readonly connected: boolean;
  readonly highestSentSeq: number;
  readonly lastAckedSeq: number;
  /** Streams opened (successful Welcomes) since start. */
  readonly sessions: number;
}

/** Reports taken from the buffer per step of a replay (a long outage is replayed from disk in batches). */
export const REPLAY_BATCH_REPORTS = 500;

export function createIngestClient(options: IngestClientOptions): IngestClient {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const closeGraceMs = options.closeGraceMs ?? 2000;
  const welcomeTimeoutMs = options.welcomeTimeoutMs ?? 10_000;
  const { buffer, log } = options;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};

  let closing = false;
  let closed: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let connected = false;
  let highestSentSeq = options.initialSentSeq ?? 0;
  let lastAckedSeq = 0;
  let sessions = 0;
  /** Wakes the request generator waiting for new reports. */
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Ends the backoff sleep early (on close only). */
  let endSleep: (() => void) | undefined;
  /** Failures since the last successful Welcome: the first of an outage is a warning, the rest debug. */
  let failuresInARow = 0;
  let abortCurrent: ((reason: Error) => void) | undefined;
  /** Set when diagnose() found the URL can never work: the loop stops. */
  let fatal: string | undefined;

  async function runStream(): Promise<number> {
    const sessionManager = new GuardedSessionManager(
      options.hubUrl,
      { pingIntervalMs: 15_000, pingTimeoutMs: 10_000 },
      options.ca === undefined ? undefined : { ca: options.ca },
    );
    const client = createClient(IngestService, createGrpcTransport({ baseUrl: options.hubUrl, sessionManager }));
    const abort = new AbortController();
    abortCurrent = (reason) => abort.abort(reason);
    let welcomed = false;
    let streamOver = false;
    let connectedAtMs = 0;
    const welcomeTimer = setTimeout(
      () => abort.abort(new ConnectError(`no Welcome from the hub within ${welcomeTimeoutMs} ms`, Code.DeadlineExceeded)),
      welcomeTimeoutMs,
    );

    async function* requests(): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: create(HelloSchema, options.hello) } });
      let cursor = 0;
      for (;;) {
        if (closing || streamOver) return;
        const batch = welcomed ? buffer.after(cursor, REPLAY_BATCH_REPORTS) : [];
        if (batch.length === 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        for (const report of batch) {
          if (closing || streamOver) return;
          const seq = Number(report.seq);
          if (seq <= cursor) continue; // renumbered or acked while this batch was being written
          cursor = seq;
          highestSentSeq = Math.max(highestSentSeq, seq);
          yield create(StreamRequestSchema, { kind: { case: 'report', value: report } });
        }
      }
    }

    try {
      for await (const res of client.stream(requests(), { headers, signal: abort.signal })) {
        switch (res.kind.case) {
          case 'welcome': {
            clearTimeout(welcomeTimer);
            const lastSeq = Number(res.kind.value.lastSeq);
            options.onWelcome(lastSeq, highestSentSeq);
            options.onSettings(res.kind.value.settings?.intervalMs ?? 0);
            welcomed = true;
            connected = true;
            failuresInARow = 0;
            sessions++;
            connectedAtMs = Date.now();
            log.info({ hub: options.hubUrl, hubLastSeq: lastSeq, replaying: buffer.size }, 'connected to the hub');
            wakeUp();
            break;
          }
          case 'ack': {
            const seq = Number(res.kind.value.seq);
            if (seq > lastAckedSeq) lastAckedSeq = seq;
            buffer.ack(seq);
            break;
          }
          case 'settings':
            log.info({ intervalMs: res.kind.value.intervalMs }, 'hub changed the settings');
            options.onSettings(res.kind.value.intervalMs);
            break;
          case 'reject':
            log.warn({ seq: Number(res.kind.value.seq), reason: res.kind.value.reason }, 'the hub rejected a report');
            break;
          default:
            log.warn('empty message from the hub; ignored');
        }
      }
      if (!closing) log.warn('the hub ended the stream; reconnecting');
    } catch (err) {
      if (!closing) {
        const e = ConnectError.from(err);
        const level = failuresInARow++ === 0 ? 'warn' : 'debug';
        log[level]({ code: Code[e.code], err: e.rawMessage, buffered: buffer.size }, 'stream to the hub failed; reports stay buffered');
        if (sessions === 0 && options.diagnose) fatal = await options.diagnose(options.hubUrl).catch(() => undefined);
      }
    } finally {
      clearTimeout(welcomeTimer);
      streamOver = true;
      connected = false;
      abortCurrent = undefined;
      wakeUp();
      sessionManager.abort();
    }
    return connectedAtMs === 0 ? 0 : Date.now() - connectedAtMs;
  }

  async function run(): Promise<void> {
    let attempt = -1;
    while (!closing) {
      const connectedForMs = await runStream();
      if (closing) break;
      if (fatal) {
        log.error({ hub: options.hubUrl }, fatal);
        options.onFatal?.(fatal);
        break;
      }
      attempt = nextAttempt(attempt, connectedForMs, backoff);
      const delayMs = backoffDelayMs(attempt, backoff, random);
      log.debug({ attempt, delayMs }, 'reconnecting after backoff');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        endSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      endSleep = undefined;
    }
  }

  return {
    start() {
      loop ??= run();
    },
    notify: wakeUp,
    close() {
      closed ??= (async () => {
        closing = true;
        wakeUp(); // ends the request side: the hub answers its last acks and ends the stream
        endSleep?.();
        if (!loop) return;
        const timer = setTimeout(() => abortCurrent?.(new Error('collector closing')), closeGraceMs);
        try {
          await loop;
        } finally {
          clearTimeout(timer);
        }
      })();
      return closed;
    },
    get connected() {
      return connected;
    },
    get highestSentSeq() {
      return highestSentSeq;
    },
    get lastAckedSeq() {
      return lastAckedSeq;
    },
    get sessions() {
      return sessions;
    },
  };
}
