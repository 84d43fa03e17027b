// The live side of ingest (current state + event) when it falls behind: every report is still stored
// and acked, while at most one live update per stream waits, the newest one. Without that bound an
// overloaded hub queued every report's state write and event in memory and the live view lagged by
// seconds.
import { create } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StreamRequestSchema, type StreamRequest } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { ReportEvent } from '../../hub/events/event-bus.ts';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createIngestService, LIVE_BATCH_DELAY_MS, type HistorySink } from '../../hub/ingest-service.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });
type Answer = { kind: { case?: string; value?: unknown } };
/** Runs one stream straight through the service (no transport); no handler context. */
function run(ingest: ReturnType<typeof createIngestService>, requests: AsyncIterable<StreamRequest>): AsyncIterable<Answer> {
  return ingest.stream(requests, undefined as never) as AsyncIterable<Answer>;
}

async function* requestsFor(machineId: string, seqs: number[], t0: number): AsyncGenerator<StreamRequest> {
  yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId, hostname: machineId } } });
  for (const seq of seqs) yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machineId, seq, t0 + seq * 10) } });
}

describe('ingest under a slow live path', () => {
  it('stores and acks every report, keeps one waiting live update per stream, and publishes the newest last', async () => {
    const memory = createMemoryState();
    let puts = 0;
    const slowState = {
      ...memory,
      async put(...args: Parameters<typeof memory.put>) {
        puts++;
        await new Promise((r) => setTimeout(r, 20));
        return memory.put(...args);
      },
      // The batched write ingest uses: as slow per batch.
      async putMany(items: Parameters<NonNullable<typeof memory.putMany>>[0]) {
        puts += items.length;
        await new Promise((r) => setTimeout(r, 20));
        return memory.putMany!(items);
      },
    };
    const events = createMemoryEvents(log);
    const published: ReportEvent[] = [];
    events.subscribe((e) => void published.push(e));
    const stored: number[] = [];
    const writer: HistorySink = { add: async (row) => void stored.push(row.seq) };
    const ingest = createIngestService({ state: slowState, events, history: { lastSeq: async () => 0 }, writer, log, maxMachines: 10 });

    const seqs = Array.from({ length: 200 }, (_, i) => i + 1);
    const responses: Answer[] = [];
    for await (const r of run(ingest, requestsFor('busy-1', seqs, Date.now() - 10_000))) responses.push(r);

    const acks = responses.filter((r) => r.kind.case === 'ack').map((r) => Number((r.kind.value as { seq: bigint }).seq));
    expect(Math.max(...acks)).toBe(200);
    expect(stored).toEqual(seqs);
    expect(ingest.stats.reportsAccepted).toBe(200);
    // The live path ran far fewer times than there were reports, and the last one it ran is the newest.
    expect(puts).toBeLessThan(50);
    expect(published.length).toBe(puts);
    expect(published.at(-1)!.record.lastSeq).toBe(200);
    expect((await memory.get('busy-1'))!.lastSeq).toBe(200);
    expect(ingest.stats.liveUpdatesSuperseded).toBe(200 - puts);
    // Published in order, never an older report after a newer one.
    const order = published.map((e) => e.record.lastSeq);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('runs every live update when the live path keeps up', async () => {
    const state = createMemoryState();
    const events = createMemoryEvents(log);
    const published: number[] = [];
    events.subscribe((e) => void published.push(e.record.lastSeq));
    const writer: HistorySink = { add: async () => {} };
    const ingest = createIngestService({ state, events, history: { lastSeq: async () => 0 }, writer, log, maxMachines: 10 });
    async function* paced(): AsyncGenerator<StreamRequest> {
      const t0 = Date.now() - 10_000;
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: 'calm-1', hostname: 'calm-1' } } });
      for (let seq = 1; seq <= 20; seq++) {
        await new Promise((r) => setTimeout(r, 5));
        yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport('calm-1', seq, t0 + seq * 10) } });
      }
    }
    for await (const _ of run(ingest, paced())) void _;
    expect(published).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(ingest.stats.liveUpdatesSuperseded).toBe(0);
  });

  it('gathers the reports of different machines that come within LIVE_BATCH_DELAY_MS into one write; drainLive writes what waits at once', async () => {
    const memory = createMemoryState();
    const batches: string[][] = [];
    const state = {
      ...memory,
      async putMany(items: Parameters<NonNullable<typeof memory.putMany>>[0]) {
        batches.push(items.map((i) => i.record.id));
        return memory.putMany!(items);
      },
    };
    const events = createMemoryEvents(log);
    const writer: HistorySink = { add: async () => {} };
    const ingest = createIngestService({ state, events, history: { lastSeq: async () => 0 }, writer, log, maxMachines: 10 });
    const out = { push: () => {}, fail: (err: unknown) => { throw err; }, end: () => {} };
    const ids = ['gather-a', 'gather-b', 'gather-c'];
    const sessions = ids.map((id) => ingest.openStream({ authorization: undefined }, out));
    await Promise.all(sessions.map((s, i) => s.receive(create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: ids[i], hostname: ids[i] } } }))));
    const t0 = Date.now() - 1000;
    const started = performance.now();
    sessions.forEach((s, i) => s.receive(create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(ids[i], 1, t0) } })));
    // The next turn of the event loop comes before any timer: nothing is written yet, the batch waits
    // for others (before: one write per turn).
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([]);
    while (batches.length === 0 && performance.now() - started < 5_000) await new Promise((r) => setTimeout(r, 5));
    expect(batches).toEqual([ids]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(LIVE_BATCH_DELAY_MS - 2);
    for (const id of ids) expect((await memory.get(id))?.lastSeq).toBe(1);
    // drainLive (the hub closing) writes what waits without waiting for the delay.
    sessions[0].receive(create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(ids[0], 2, t0 + 10) } }));
    await ingest.drainLive();
    expect(batches).toEqual([ids, [ids[0]]]);
    expect((await memory.get(ids[0]))?.lastSeq).toBe(2);
    for (const s of sessions) s.close();
  });
});
