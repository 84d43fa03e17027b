// Property tests (fast-check, fixed seed) for the hub's report boundary: the protobuf decode of what a
// collector sends and validateReport behind it.
//   - A valid report round-trips through the wire bytes unchanged and is accepted.
//   - Arbitrary bytes, and valid reports' bytes flipped, truncated, spliced and padded: decoding either
//     throws an Error (a clear rejection) or yields a Report; validateReport on it never throws and
//     answers a reason or null; an accepted one round-trips again.
//   - The ingest service itself, in process with memory state: a stream of decoded (mutated) reports
//     ends with an ack or a reject per report, or a ConnectError with a precise code; never another
//     throw, and nothing invalid reaches history.
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import type { HistoryRow } from '../../hub/history/history-store.ts';
import { createIngestService } from '../../hub/ingest-service.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { LIMITS, RANGES, validateReport } from '../../hub/validate-report.ts';
import { HelloSchema, StreamRequestSchema, type StreamRequest } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';

const SEED = 0x5eed_0006;
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const params = (numRuns: number) => ({ seed: SEED, numRuns });

const idArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);
/** Printable text without control characters, up to `max` code points (whole ones: a collector cannot send half a surrogate pair). */
const textArb = (max: number) =>
  fc.string({ unit: 'grapheme', maxLength: max }).map((s) => Array.from(s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')).slice(0, max).join(''));
const percentArb = fc.double({ min: 0, max: 100, noNaN: true, noDefaultInfinity: true });
const amountArb = fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true });
/** Within a physical range of validate-report.ts (RANGES). */
const rangeArb = (range: keyof typeof RANGES) => fc.double({ min: RANGES[range][0], max: RANGES[range][1], noNaN: true, noDefaultInfinity: true });

/** Reports validateReport must accept (checked by the first property). */
const validReportArb: fc.Arbitrary<Report> = fc
  .record({
    machineId: idArb,
    seq: fc.bigInt({ min: 1n, max: BigInt(LIMITS.maxSeq) }),
    timestampMs: fc.integer({ min: NOW_MS - LIMITS.maxAgeMs + 1000, max: NOW_MS + LIMITS.maxFutureMs - 1000 }),
    hostname: textArb(64),
    displayName: textArb(64),
    intervalMs: fc.integer({ min: 0, max: LIMITS.maxIntervalMs }),
    labels: fc.dictionary(textArb(20).filter((k) => k.length > 0), textArb(40), { maxKeys: 6 }),
    cpu: fc.record({ totalPercent: percentArb, perCorePercent: fc.array(percentArb, { maxLength: 16 }), userPercent: percentArb, systemPercent: percentArb, coreCount: fc.integer({ min: 0, max: 64 }) }),
    memory: fc.record({ totalBytes: amountArb, usedBytes: amountArb, availableBytes: amountArb, usedPercent: percentArb, swapPercent: percentArb }),
    load: fc.record({ load1m: rangeArb('load'), load5m: rangeArb('load'), load15m: rangeArb('load') }),
    filesystems: fc.array(fc.record({ mount: textArb(40), device: textArb(20), fsType: textArb(8), sizeBytes: amountArb, usedBytes: amountArb, usedPercent: percentArb }), { maxLength: 4 }),
    network: fc.array(fc.record({ name: textArb(16), recvBytesPerSec: amountArb, sentBytesPerSec: amountArb }), { maxLength: 4 }),
    temperatures: fc.array(fc.record({ sensor: textArb(16), celsius: fc.double({ min: -50, max: 150, noNaN: true }) }), { maxLength: 4 }),
    processCount: fc.integer({ min: 0, max: 100_000 }),
    uptimeSeconds: rangeArb('uptimeSeconds'),
  })
  .map((r) => create(ReportSchema, { ...r, timestampMs: BigInt(r.timestampMs) }));

type Mutation = { kind: 'flip'; at: number; xor: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; count: number } | { kind: 'overwrite'; at: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
);

/** Applies mutations in order; positions wrap around the current length. */
function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    switch (m.kind) {
      case 'flip':
        if (out.length > 0) out[at % out.length] ^= m.xor;
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'insert':
        out = Uint8Array.from([...out.slice(0, at), ...m.bytes, ...out.slice(at)]);
        break;
      case 'delete':
        out = Uint8Array.from([...out.slice(0, at), ...out.slice(at + m.count)]);
        break;
      case 'overwrite':
        out = Uint8Array.from(out);
        for (let i = 0; i < m.bytes.length && at + i < out.length; i++) out[at + i] = m.bytes[i];
        break;
    }
  }
  return out;
}

type Outcome = { kind: 'decode-error'; message: string } | { kind: 'rejected'; reason: string } | { kind: 'accepted'; report: Report };

/** What the hub's boundary makes of some bytes: the decode, then validateReport. Any other throw fails the test. */
function boundary(bytes: Uint8Array): Outcome {
  let report: Report;
  try {
    report = fromBinary(ReportSchema, bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.length).toBeGreaterThan(0);
    return { kind: 'decode-error', message: (err as Error).message };
  }
  const reason = validateReport(report, NOW_MS);
  if (reason !== null) {
    expect(typeof reason).toBe('string');
    expect(reason.length).toBeGreaterThan(0);
    return { kind: 'rejected', reason };
  }
  return { kind: 'accepted', report };
}

/** An accepted report survives encode → decode unchanged (what the hub stores is what it checked). */
function expectRoundTrip(report: Report): void {
  const again = fromBinary(ReportSchema, toBinary(ReportSchema, report));
  expect(equals(ReportSchema, again, report)).toBe(true);
  expect(validateReport(again, NOW_MS)).toBeNull();
}

describe('report decode + validateReport (fast-check, fixed seed)', () => {
  it('valid reports round-trip through the wire bytes and are accepted', () => {
    fc.assert(
      fc.property(validReportArb, (report) => {
        expect(validateReport(report, NOW_MS)).toBeNull();
        const outcome = boundary(toBinary(ReportSchema, report));
        expect(outcome.kind).toBe('accepted');
        expect(equals(ReportSchema, (outcome as { report: Report }).report, report)).toBe(true);
      }),
      params(300),
    );
  });

  it('arbitrary bytes: a clear rejection or a report that validates cleanly, never an unexpected throw', () => {
    const tally = { 'decode-error': 0, rejected: 0, accepted: 0 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const outcome = boundary(bytes);
        tally[outcome.kind]++;
        if (outcome.kind === 'accepted') expectRoundTrip(outcome.report);
      }),
      params(2000),
    );
    console.log(`arbitrary bytes, 2000 runs: ${JSON.stringify(tally)}`);
    // Random bytes are almost never a valid report (an empty machine id alone is refused).
    expect(tally['decode-error'] + tally.rejected).toBeGreaterThan(1900);
  });

  it('mutated bytes of valid reports (flips, truncation, splices): rejected clearly or accepted and round-tripping', () => {
    const tally = { 'decode-error': 0, rejected: 0, accepted: 0 };
    fc.assert(
      fc.property(validReportArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (report, mutations) => {
        const outcome = boundary(mutate(toBinary(ReportSchema, report), mutations));
        tally[outcome.kind]++;
        if (outcome.kind === 'accepted') expectRoundTrip(outcome.report);
      }),
      params(1500),
    );
    console.log(`mutated reports, 1500 runs: ${JSON.stringify(tally)}`);
    // Every branch was exercised: the mutations are neither all fatal nor all harmless.
    expect(tally['decode-error']).toBeGreaterThan(0);
    expect(tally.rejected).toBeGreaterThan(0);
    expect(tally.accepted).toBeGreaterThan(0);
  });

  it('mutated StreamRequest frames decode to a known message kind or fail with an Error', () => {
    fc.assert(
      fc.property(validReportArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (report, mutations) => {
        const frame = toBinary(StreamRequestSchema, create(StreamRequestSchema, { kind: { case: 'report', value: report } }));
        let req: StreamRequest;
        try {
          req = fromBinary(StreamRequestSchema, mutate(frame, mutations));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          return;
        }
        expect([undefined, 'hello', 'report']).toContain(req.kind.case);
        if (req.kind.case === 'report') expect(() => validateReport(req.kind.value as Report, NOW_MS)).not.toThrow();
      }),
      params(800),
    );
  });
});

describe('the ingest service in process, fed decoded mutated reports', () => {
  const log = pino({ level: 'silent' });

  async function runStream(machineId: string, reports: Report[]) {
    const stored: HistoryRow[] = [];
    const service = createIngestService({
      state: createMemoryState(),
      events: createMemoryEvents(log),
      history: { lastSeq: async () => 0 },
      writer: {
        add: async (row) => {
          stored.push(row);
        },
      },
      log,
      maxMachines: 100,
      now: () => NOW_MS,
    });
    async function* requests(): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: create(HelloSchema, { machineId, hostname: 'fuzz.local' }) } });
      for (const report of reports) yield create(StreamRequestSchema, { kind: { case: 'report', value: report } });
    }
    const kinds: string[] = [];
    let error: ConnectError | undefined;
    try {
      for await (const res of service.stream(requests(), undefined as unknown as HandlerContext)) kinds.push(res.kind?.case ?? 'empty');
    } catch (err) {
      // Anything the handler throws must already be a ConnectError with a precise code.
      expect(err).toBeInstanceOf(ConnectError);
      error = err as ConnectError;
    }
    return { kinds, error, stored };
  }

  it('answers every report with an ack or a reject, or ends with a precise status; stores only valid rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        idArb,
        fc.array(fc.tuple(validReportArb, fc.array(mutationArb, { maxLength: 3 })), { minLength: 1, maxLength: 6 }),
        async (machineId, items) => {
          const reports: Report[] = [];
          for (const [report, mutations] of items) {
            report.machineId = machineId;
            try {
              reports.push(fromBinary(ReportSchema, mutate(toBinary(ReportSchema, report), mutations)));
            } catch {
              /* the transport would refuse this frame before the service sees it */
            }
          }
          const { kinds, error, stored } = await runStream(machineId, reports);
          expect(kinds[0]).toBe('welcome');
          if (error) expect([Code.InvalidArgument, Code.FailedPrecondition]).toContain(error.code);
          else expect(kinds.slice(1).every((k) => k === 'ack' || k === 'reject')).toBe(true);
          // Stored rows: valid, for this machine, each seq once, in increasing order.
          const seqs = stored.map((r) => r.seq);
          expect(new Set(seqs).size).toBe(seqs.length);
          expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
          for (const row of stored) {
            expect(row.machineId).toBe(machineId);
            expect(Number.isSafeInteger(row.seq) && row.seq > 0).toBe(true);
            for (const v of Object.values(row.metrics)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
          }
        },
      ),
      params(200),
    );
  });
});
