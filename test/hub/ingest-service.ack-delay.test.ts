// ACK_DELAY (ackDelayMs): acks of all streams are held back at most that long after the first became
// due and then go out together, one per stream for its highest durable seq; held acks are sent at
// once when a stream ends and when the hub closes (flushAcks), so no durable report stays unacked.
import { create } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StreamRequestSchema, type StreamRequest } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createIngestService, type HistorySink } from '../../hub/ingest-service.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { requestQueue } from '../support/request-queue.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });
const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (≤ 3 s) until `ok()`. */
async function until(ok: () => boolean) {
  for (let i = 0; i < 300 && !ok(); i++) await sleep(10);
}

/** Every write is durable at once. */
const durableAtOnce: HistorySink = { add: async () => {} };

function openStreams(ackDelayMs: number) {
  const ingest = createIngestService({
    state: createMemoryState(),
    events: createMemoryEvents(log),
    history: { lastSeq: async () => 0 },
    writer: durableAtOnce,
    log,
    maxMachines: 10,
    ackDelayMs,
  });
  const open = (machineId: string) => {
    const { requests, push, end: endRequests } = requestQueue<StreamRequest>();
    /** Each ack with the time it arrived (performance.now()). */
    const acks: Array<{ seq: number; atMs: number }> = [];
    let welcomed = false;
    const done = (async () => {
      for await (const res of ingest.stream(requests(), undefined as never)) {
        const r = res as { kind: { case?: string; value?: { seq?: bigint } } };
        if (r.kind.case === 'welcome') welcomed = true;
        if (r.kind.case === 'ack') acks.push({ seq: Number(r.kind.value!.seq), atMs: performance.now() });
      }
    })();
    push(create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId, hostname: machineId } } }));
    const t0 = Date.now() - 10_000;
    return {
      acks,
      seqs: () => acks.map((a) => a.seq),
      welcomed: async () => {
        for (let i = 0; i < 50 && !welcomed; i++) await turn();
        expect(welcomed).toBe(true);
      },
      report: (seq: number) => push(create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machineId, seq, t0 + seq * 10) } })),
      end: async () => {
        endRequests();
        await done;
      },
    };
  };
  return { ingest, open };
}

describe('ACK_DELAY', () => {
  it('holds acks back at most the delay, then sends one per stream for its highest seq', async () => {
    const { open } = openStreams(300);
    const a = open('delay-a');
    const b = open('delay-b');
    await a.welcomed();
    await b.welcomed();
    const sentAt = performance.now();
    a.report(1);
    b.report(1);
    await sleep(100);
    a.report(2); // arrives while the first ack is held: covered by the same ack
    await sleep(50);
    expect(a.acks).toEqual([]); // not before the delay
    expect(b.acks).toEqual([]);
    await until(() => a.acks.length > 0 && b.acks.length > 0);
    expect(a.seqs()).toEqual([2]);
    expect(b.seqs()).toEqual([1]);
    // Both went out together, within the delay (plus timer slack on a busy machine) of the first report.
    expect(a.acks[0].atMs - sentAt).toBeGreaterThanOrEqual(250);
    expect(a.acks[0].atMs - sentAt).toBeLessThan(300 + 400);
    expect(Math.abs(a.acks[0].atMs - b.acks[0].atMs)).toBeLessThan(50);
    const again = performance.now();
    a.report(3);
    await sleep(100);
    expect(a.seqs()).toEqual([2]); // the next ack is held the same way
    await until(() => a.acks.length > 1);
    expect(a.seqs()).toEqual([2, 3]);
    expect(a.acks[1].atMs - again).toBeGreaterThanOrEqual(250);
    await a.end();
    await b.end();
    expect(a.seqs()).toEqual([2, 3]);
  });

  it('a stream that ends sends its held ack at once', async () => {
    const { open } = openStreams(10_000);
    const a = open('delay-end');
    await a.welcomed();
    for (const seq of [1, 2, 3]) a.report(seq);
    for (let i = 0; i < 10; i++) await turn();
    expect(a.acks).toEqual([]);
    const t = performance.now();
    await a.end();
    expect(a.seqs()).toEqual([3]);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('flushAcks (the hub closing) sends every held ack at once', async () => {
    const { ingest, open } = openStreams(10_000);
    const a = open('delay-close-a');
    const b = open('delay-close-b');
    await a.welcomed();
    await b.welcomed();
    for (const seq of [1, 2]) a.report(seq);
    b.report(1);
    for (let i = 0; i < 10; i++) await turn();
    expect(a.acks).toEqual([]);
    ingest.flushAcks();
    for (let i = 0; i < 10 && (a.acks.length === 0 || b.acks.length === 0); i++) await turn();
    expect(a.seqs()).toEqual([2]);
    expect(b.seqs()).toEqual([1]);
    await a.end();
    await b.end();
  });

  it('0 sends the acks on the next turn, as without the setting', async () => {
    const { open } = openStreams(0);
    const a = open('delay-zero');
    await a.welcomed();
    a.report(1);
    for (let i = 0; i < 10 && a.acks.length === 0; i++) await turn();
    expect(a.seqs()).toEqual([1]);
    await a.end();
  });
});
