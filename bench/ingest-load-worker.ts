// A load-generator process for the hub benchmarks: it plays many collectors at once, each one
// IngestService.Stream over real gRPC/HTTP2 (Hello, then Reports with increasing seqs, acks read
// back), `streamsPerConnection` streams sharing one HTTP/2 connection. Driven by its parent over IPC
// (bench/ingest-load.ts), so several of them can share out 10,000 streams on a small machine:
//   ← {cmd:'open', ...}    opens the streams, waits for every Welcome  → {type:'opened', streams, ms}
//   ← {cmd:'run', ...}     'rate': one report per stream per period, spread evenly over the period;
//                          'max': as fast as acks allow, at most `window` unacked per stream;
//                          both bounded by `durationMs` and `maxReportsPerStream`      → {type:'sent-all'}
//                          then waits (bounded) until every report is acked           → {type:'drained', ...}
//   ← {cmd:'snapshot', id} → {type:'snapshot', id, counters, atMs}
//   ← {cmd:'close'}        ends every stream, waits for the hub to finish answering, exits.
import { create } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { IngestService, StreamRequestSchema, type StreamRequest } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { syntheticReport } from '../test/support/synthetic-collector.ts';

export interface OpenCommand {
  cmd: 'open';
  hubUrl: string;
  /** Machine ids `${idPrefix}${index}` for index in [firstIndex, firstIndex + count). */
  idPrefix: string;
  firstIndex: number;
  count: number;
  streamsPerConnection: number;
  /** Streams opened at once (each Hello costs the hub a few lookups). */
  openConcurrency: number;
  headers?: Record<string, string>;
}

export interface RunCommand {
  cmd: 'run';
  mode: 'rate' | 'max';
  /** rate: one report per stream per periodMs. */
  periodMs: number;
  /** max: unacked reports allowed per stream. */
  window: number;
  durationMs: number;
  maxReportsPerStream: number;
  drainTimeoutMs: number;
  /** Epoch ms to start at (so every worker starts together). */
  startAtMs: number;
  /** rate: the global index range all workers share, to spread sends evenly over the period. */
  totalStreams: number;
  /** rate: sends are grouped into slots this long (1: each stream at its own millisecond, as independent collectors). */
  slotMs: number;
}

export interface LoadCounters {
  streams: number;
  sent: number;
  acked: number;
  rejected: number;
  streamErrors: number;
  /** Streams whose last sent seq is not acked yet. */
  unackedStreams: number;
  /** Sum over streams of (last sent seq − last acked seq). */
  unackedReports: number;
  /** Sends that happened later than planned by more than one period (rate mode: the generator fell behind). */
  lateSends: number;
  firstErrors: string[];
}

interface StreamState {
  id: string;
  index: number;
  seq: number;
  acked: number;
  failed: boolean;
  queue: StreamRequest[];
  wake: (() => void) | undefined;
  ended: boolean;
  done: Promise<void>;
  welcomed: Promise<void>;
}

const streams: StreamState[] = [];
const counters: LoadCounters = { streams: 0, sent: 0, acked: 0, rejected: 0, streamErrors: 0, unackedStreams: 0, unackedReports: 0, lateSends: 0, firstErrors: [] };
let template: Report | undefined;
let maxMode: { window: number; limit: number; endAtMs: number } | undefined;

const send = (msg: unknown) => process.send!(msg);

function noteError(message: string): void {
  counters.streamErrors++;
  if (counters.firstErrors.length < 5) counters.firstErrors.push(message);
}

function openStream(client: Client<typeof IngestService>, id: string, index: number, headers: Record<string, string> | undefined): StreamState {
  let welcome!: () => void;
  let welcomeFailed!: (err: Error) => void;
  const s: StreamState = {
    id,
    index,
    seq: 0,
    acked: 0,
    failed: false,
    queue: [create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: id, hostname: `${id}.bench`, displayName: id } } })],
    wake: undefined,
    ended: false,
    done: Promise.resolve(),
    welcomed: new Promise<void>((resolve, reject) => {
      welcome = resolve;
      welcomeFailed = reject;
    }),
  };
  async function* requests(): AsyncGenerator<StreamRequest> {
    for (;;) {
      while (s.queue.length) yield s.queue.shift()!;
      if (s.ended) return;
      await new Promise<void>((r) => (s.wake = r));
      s.wake = undefined;
    }
  }
  s.done = (async () => {
    try {
      for await (const res of client.stream(requests(), { headers })) {
        if (res.kind.case === 'ack') {
          const seq = Number(res.kind.value.seq);
          if (seq > s.acked) {
            counters.acked += seq - s.acked;
            s.acked = seq;
            if (maxMode) pump(s);
          }
        } else if (res.kind.case === 'welcome') {
          s.seq = Number(res.kind.value.lastSeq);
          s.acked = s.seq;
          welcome();
        } else if (res.kind.case === 'reject') {
          counters.rejected++;
          if (counters.firstErrors.length < 5) counters.firstErrors.push(`rejected ${id}#${res.kind.value.seq}: ${res.kind.value.reason}`);
        }
      }
    } catch (err) {
      s.failed = true;
      noteError(`${id}: ${(err as Error).message}`);
      welcomeFailed(err as Error);
    }
  })();
  return s;
}

function sendReport(s: StreamState, nowMs: number): void {
  s.seq++;
  const report: Report = { ...template!, machineId: s.id, seq: BigInt(s.seq), timestampMs: BigInt(nowMs), processCount: s.seq % 100_000 };
  s.queue.push(create(StreamRequestSchema, { kind: { case: 'report', value: report } }));
  counters.sent++;
  s.wake?.();
}

function pump(s: StreamState): void {
  const m = maxMode!;
  if (s.failed || s.ended) return;
  const now = Date.now();
  if (now >= m.endAtMs) return;
  while (s.seq - s.acked < m.window && s.seq < m.limit) sendReport(s, now);
}

function snapshotCounters(): LoadCounters {
  let unackedStreams = 0;
  let unackedReports = 0;
  for (const s of streams) {
    if (s.seq > s.acked) {
      unackedStreams++;
      unackedReports += s.seq - s.acked;
    }
  }
  return { ...counters, streams: streams.length, unackedStreams, unackedReports, firstErrors: [...counters.firstErrors] };
}

async function open(cmd: OpenCommand): Promise<void> {
  const started = Date.now();
  template = syntheticReport('template', 1, Date.now());
  let client: Client<typeof IngestService> | undefined;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < cmd.count; i++) {
    if (i % cmd.streamsPerConnection === 0) client = createClient(IngestService, createGrpcTransport({ baseUrl: cmd.hubUrl }));
    const s = openStream(client!, `${cmd.idPrefix}${cmd.firstIndex + i}`, cmd.firstIndex + i, cmd.headers);
    streams.push(s);
    pending.push(s.welcomed.catch(() => {}));
    if (pending.length >= cmd.openConcurrency) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  send({ type: 'opened', streams: streams.filter((s) => !s.failed).length, failed: streams.filter((s) => s.failed).length, ms: Date.now() - started, counters: snapshotCounters() });
}

async function runRate(cmd: RunCommand): Promise<void> {
  // Stream with global index g sends at startAtMs + k·period + offset(g), offsets spread evenly over the period.
  const slotMs = Math.max(1, cmd.slotMs);
  const slots = Math.max(1, Math.round(cmd.periodMs / slotMs));
  const bySlot: StreamState[][] = Array.from({ length: slots }, () => []);
  for (const s of streams) bySlot[Math.floor((s.index / Math.max(1, cmd.totalStreams)) * slots) % slots].push(s);
  const endAtMs = cmd.startAtMs + cmd.durationMs;
  let next = 0; // the next slot number (absolute, since start)
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = Date.now();
      while (cmd.startAtMs + next * slotMs <= now) {
        const plannedAt = cmd.startAtMs + next * slotMs;
        if (plannedAt >= endAtMs) return resolve();
        const late = now - plannedAt > cmd.periodMs;
        for (const s of bySlot[next % slots]) {
          if (s.failed || s.seq >= cmd.maxReportsPerStream) continue;
          sendReport(s, now);
          if (late) counters.lateSends++;
        }
        next++;
      }
      setTimeout(tick, Math.max(0, cmd.startAtMs + next * slotMs - Date.now()));
    };
    setTimeout(tick, Math.max(0, cmd.startAtMs - Date.now()));
  });
}

async function runMax(cmd: RunCommand): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, cmd.startAtMs - Date.now())));
  const endAtMs = cmd.startAtMs + cmd.durationMs;
  maxMode = { window: cmd.window, limit: cmd.maxReportsPerStream, endAtMs };
  for (const s of streams) pump(s);
  await new Promise((r) => setTimeout(r, Math.max(0, endAtMs - Date.now())));
  maxMode = undefined;
}

async function run(cmd: RunCommand): Promise<void> {
  if (cmd.mode === 'rate') await runRate(cmd);
  else await runMax(cmd);
  send({ type: 'sent-all', counters: snapshotCounters(), atMs: Date.now() });
  const deadline = Date.now() + cmd.drainTimeoutMs;
  while (Date.now() < deadline && streams.some((s) => !s.failed && s.seq > s.acked)) await new Promise((r) => setTimeout(r, 50));
  send({ type: 'drained', counters: snapshotCounters(), atMs: Date.now() });
}

async function close(): Promise<void> {
  for (const s of streams) {
    s.ended = true;
    s.wake?.();
  }
  await Promise.race([Promise.all(streams.map((s) => s.done)), new Promise((r) => setTimeout(r, 30_000))]);
  process.send!({ type: 'closed', counters: snapshotCounters() }, () => process.exit(0));
}

if (!process.send) {
  process.stderr.write('bench/ingest-load-worker.ts is started by bench/ingest-load.ts over IPC, not by hand\n');
  process.exit(2);
}
process.on('message', (msg: OpenCommand | RunCommand | { cmd: 'snapshot'; id: number } | { cmd: 'close' }) => {
  const fail = (err: unknown) => send({ type: 'error', message: (err as Error).stack ?? String(err) });
  if (msg.cmd === 'open') open(msg).catch(fail);
  else if (msg.cmd === 'run') run(msg).catch(fail);
  else if (msg.cmd === 'snapshot') send({ type: 'snapshot', id: msg.id, counters: snapshotCounters(), atMs: Date.now() });
  else if (msg.cmd === 'close') close().catch(fail);
});
process.on('disconnect', () => process.exit(0));
