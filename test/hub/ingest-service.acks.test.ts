// Acks of one stream: cumulative, in report order whatever order history writes settle in, sent once
// per turn of the event loop for the highest durable seq, and never past a write that failed.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StreamRequestSchema, type StreamRequest } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import type { HistoryRow } from '../../hub/history/history-store.ts';
import { createIngestService, type HistorySink } from '../../hub/ingest-service.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { requestQueue } from '../support/request-queue.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });
const turn = () => new Promise((r) => setImmediate(r));

/** A history sink whose writes settle only when the test says so. */
function manualWriter() {
  const pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  const sink: HistorySink = {
    add(row: HistoryRow) {
      return new Promise<void>((resolve, reject) => pending.set(row.seq, { resolve, reject }));
    },
  };
  return { sink, pending };
}

/** One stream driven by hand: push requests, read what the hub answered so far. */
function openStream(writer: HistorySink, machineId: string) {
  const ingest = createIngestService({ state: createMemoryState(), events: createMemoryEvents(log), history: { lastSeq: async () => 0 }, writer, log, maxMachines: 10 });
  const { requests, push, end: endRequests } = requestQueue<StreamRequest>();
  const acks: number[] = [];
  const kinds: string[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const res of ingest.stream(requests(), undefined as never)) {
        const r = res as { kind: { case?: string; value?: { seq?: bigint } } };
        kinds.push(r.kind.case!);
        if (r.kind.case === 'ack') acks.push(Number(r.kind.value!.seq));
      }
    } catch (err) {
      failure = err;
    }
  })();
  push(create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId, hostname: machineId } } }));
  const t0 = Date.now() - 10_000;
  return {
    acks,
    kinds,
    failure: () => failure,
    report: (seq: number) => push(create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machineId, seq, t0 + seq * 10) } })),
    end: async () => {
      endRequests();
      await done;
    },
  };
}

describe('ingest acks', () => {
  it('wait for every earlier write, and go out once per turn for the highest durable seq', async () => {
    const w = manualWriter();
    const s = openStream(w.sink, 'acks-1');
    for (const seq of [1, 2, 3, 4]) s.report(seq);
    for (let i = 0; i < 5 && w.pending.size < 4; i++) await turn();
    expect([...w.pending.keys()]).toEqual([1, 2, 3, 4]);
    w.pending.get(3)!.resolve();
    w.pending.get(2)!.resolve();
    await turn();
    await turn();
    expect(s.acks).toEqual([]); // 1 is not durable yet: nothing may be acked
    w.pending.get(1)!.resolve();
    await turn();
    await turn();
    expect(s.acks).toEqual([3]); // 1, 2 and 3 settled together: one ack
    w.pending.get(4)!.resolve();
    await s.end();
    expect(s.acks).toEqual([3, 4]);
    expect(s.failure()).toBeUndefined();
  });

  it('while history is behind (ready() pending) no further report is read; the hello still is', async () => {
    const added: number[] = [];
    let release!: () => void;
    let behind: Promise<void> | undefined = new Promise<void>((r) => (release = r));
    const sink: HistorySink = {
      add: async (row) => void added.push(row.seq),
      ready: () => behind,
    };
    const s = openStream(sink, 'acks-3');
    for (const seq of [1, 2, 3]) s.report(seq);
    for (let i = 0; i < 10; i++) await turn();
    expect(s.kinds[0]).toBe('welcome'); // the hello went through
    expect(added).toEqual([]);
    behind = undefined;
    release();
    await s.end();
    expect(added).toEqual([1, 2, 3]);
    expect(s.acks.at(-1)).toBe(3);
  });

  it('a failed write closes the stream UNAVAILABLE and nothing after it is acked', async () => {
    const w = manualWriter();
    const s = openStream(w.sink, 'acks-2');
    for (const seq of [1, 2, 3]) s.report(seq);
    for (let i = 0; i < 5 && w.pending.size < 3; i++) await turn();
    w.pending.get(1)!.resolve();
    await turn();
    await turn();
    expect(s.acks).toEqual([1]);
    w.pending.get(2)!.reject(new Error('database went away for good'));
    w.pending.get(3)!.resolve();
    await s.end();
    expect(s.acks).toEqual([1]);
    expect(s.failure()).toBeInstanceOf(ConnectError);
    expect((s.failure() as ConnectError).code).toBe(Code.Unavailable);
  });
});
