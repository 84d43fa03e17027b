// The ingest stream's decisions, pure: message order and hello validation, MAX_MACHINES for a new
// machine, and duplicate / reject / accept of a report by seq, validation and labels, in the order
// ingest-decision.ts documents.
import { create } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { describe, expect, test } from 'vitest';
import { HelloSchema, StreamRequestSchema } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { decideAdmission, decideMessage, decideReport, type ReportBookkeeping, type ReportDecision } from '../../hub/ingest-decision.ts';
import { LIMITS } from '../../hub/validate-report.ts';

const now = 1_800_000_000_000;
const WINDOW = LIMITS.seqWindow;

const labels = (n: number, prefix = 'k') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));

function report(seq: bigint, patch: (r: Report) => void = () => {}): Report {
  const r = create(ReportSchema, {
    machineId: 'web-01',
    seq,
    timestampMs: BigInt(now - 1000),
    hostname: 'web-01',
    cpu: { totalPercent: 12, perCorePercent: [10, 14], userPercent: 8, systemPercent: 4 },
    memory: { totalBytes: 8e9, usedBytes: 4e9, availableBytes: 4e9, usedPercent: 50 },
  });
  patch(r);
  return r;
}

function book(patch: Partial<ReportBookkeeping> = {}): ReportBookkeeping {
  return Object.freeze({ machineId: 'web-01', helloLabels: {}, replaced: false, lastInStream: 0, acceptedSeq: 0, durableSeq: 0, ...patch });
}

describe('decideMessage', () => {
  const hello = (machineId = 'web-01') => create(StreamRequestSchema, { kind: { case: 'hello', value: create(HelloSchema, { machineId, hostname: 'web-01' }) } });
  const rep = create(StreamRequestSchema, { kind: { case: 'report', value: report(1n) } });
  const empty = create(StreamRequestSchema, {});

  test.each<[string, ReturnType<typeof hello>, boolean, 'hello' | 'report' | { code: Code; message: RegExp }]>([
    ['a first hello', hello(), false, 'hello'],
    ['a second hello', hello(), true, { code: Code.InvalidArgument, message: /^hello sent twice on one stream$/ }],
    ['a hello with a bad machine id', hello('../etc'), false, { code: Code.InvalidArgument, message: /^invalid hello: machine_id/ }],
    ['a second hello, even a bad one, is refused as the second', hello('../etc'), true, { code: Code.InvalidArgument, message: /twice/ }],
    ['a report after the hello', rep, true, 'report'],
    ['a report before any hello', rep, false, { code: Code.FailedPrecondition, message: /^the first message on a stream must be a hello$/ }],
    ['an empty message', empty, true, { code: Code.InvalidArgument, message: /^empty stream message$/ }],
    ['an empty message before the hello', empty, false, { code: Code.InvalidArgument, message: /^empty stream message$/ }],
  ])('%s', (_name, req, helloSeen, expected) => {
    const step = decideMessage(req, helloSeen);
    if (typeof expected === 'string') expect(step).toBe(expected);
    else expect(step).toMatchObject({ verdict: 'fail', code: expected.code, message: expect.stringMatching(expected.message) });
  });
});

describe('decideAdmission', () => {
  test.each<[string, number, number, number, boolean]>([
    ['the first machine', 0, 0, 10, true],
    ['the last place', 9, 0, 10, true],
    ['the last place, one already being admitted', 8, 1, 10, true],
    ['full', 10, 0, 10, false],
    ['full with the ones being admitted', 7, 3, 10, false],
    ['over (the limit was lowered)', 12, 0, 10, false],
    ['no machine at all allowed', 0, 0, 0, false],
  ])('%s', (_name, tracked, admitting, max, admitted) => {
    const decision = decideAdmission(tracked, admitting, max);
    if (admitted) expect(decision).toBe('admit');
    else expect(decision).toEqual({ verdict: 'fail', code: Code.ResourceExhausted, message: `the hub already tracks its limit of ${max} machines (MAX_MACHINES)` });
  });
});

describe('decideReport', () => {
  type Expected =
    | { verdict: 'accept' | 'duplicate'; seq: number; lastInStream: number }
    | { verdict: 'reject'; seq: number; ackable: boolean; reason: RegExp; lastInStream: number }
    | { verdict: 'fail'; code: Code; message: RegExp };

  test.each<[string, ReportBookkeeping, Report, Expected]>([
    // Stream failures come before anything else.
    ['a replaced stream fails', book({ replaced: true }), report(1n), { verdict: 'fail', code: Code.Aborted, message: /replaced by a newer stream/ }],
    ['a replaced stream fails even for a bad report', book({ replaced: true }), report(0n, (r) => (r.machineId = 'db-01')), { verdict: 'fail', code: Code.Aborted, message: /replaced/ }],
    ['a report of another machine fails', book(), report(1n, (r) => (r.machineId = 'db-01')), { verdict: 'fail', code: Code.InvalidArgument, message: /^report for machine "db-01" on the stream of "web-01"$/ }],

    // Accepted: the seq becomes the stream's lastInStream.
    ['the first report of a new machine', book(), report(1n), { verdict: 'accept', seq: 1, lastInStream: 1 }],
    ['the next seq on the stream', book({ lastInStream: 41, acceptedSeq: 41, durableSeq: 40 }), report(42n), { verdict: 'accept', seq: 42, lastInStream: 42 }],
    ['a gap is accepted (the collector dropped some)', book({ lastInStream: 5, acceptedSeq: 5 }), report(500n), { verdict: 'accept', seq: 500, lastInStream: 500 }],

    // Duplicates: at or below what this stream or any stream accepted.
    ['the same seq again', book({ lastInStream: 7, acceptedSeq: 7 }), report(7n), { verdict: 'duplicate', seq: 7, lastInStream: 7 }],
    ['an older seq (a replay)', book({ lastInStream: 7, acceptedSeq: 7, durableSeq: 7 }), report(3n), { verdict: 'duplicate', seq: 3, lastInStream: 7 }],
    ['a seq another stream accepted but has not made durable', book({ lastInStream: 4, acceptedSeq: 9, durableSeq: 4 }), report(6n), { verdict: 'duplicate', seq: 6, lastInStream: 4 }],
    ['a seq at the stream start (durable at hello)', book({ lastInStream: 10, durableSeq: 10 }), report(10n), { verdict: 'duplicate', seq: 10, lastInStream: 10 }],

    // Seq poisoning: a jump beyond the window past the highest seq the hub holds, from whichever holds it.
    ['right at the window is accepted', book({ lastInStream: 3 }), report(BigInt(3 + WINDOW)), { verdict: 'accept', seq: 3 + WINDOW, lastInStream: 3 + WINDOW }],
    ['one past the window from the stream', book({ lastInStream: 3 }), report(BigInt(3 + WINDOW + 1)), { verdict: 'reject', seq: 3 + WINDOW + 1, ackable: false, reason: new RegExp(`^seq ${3 + WINDOW + 1} jumps more than ${WINDOW} past the highest seq the hub holds for this machine \\(3\\)$`), lastInStream: 3 }],
    ['the window counts from another stream\'s accepted seq', book({ lastInStream: 3, acceptedSeq: 50 }), report(BigInt(50 + WINDOW)), { verdict: 'accept', seq: 50 + WINDOW, lastInStream: 50 + WINDOW }],
    ['past the window from another stream\'s accepted seq', book({ lastInStream: 3, acceptedSeq: 50 }), report(BigInt(51 + WINDOW)), { verdict: 'reject', seq: 51 + WINDOW, ackable: false, reason: /\(50\)$/, lastInStream: 3 }],
    ['the window counts from the durable seq', book({ durableSeq: 80 }), report(BigInt(80 + WINDOW)), { verdict: 'accept', seq: 80 + WINDOW, lastInStream: 80 + WINDOW }],
    ['past the window from the durable seq', book({ durableSeq: 80 }), report(BigInt(81 + WINDOW)), { verdict: 'reject', seq: 81 + WINDOW, ackable: false, reason: /\(80\)$/, lastInStream: 0 }],
    ['a jump is refused before the report is validated', book(), report(BigInt(WINDOW + 1), (r) => (r.cpu!.totalPercent = NaN)), { verdict: 'reject', seq: WINDOW + 1, ackable: false, reason: /jumps more than/, lastInStream: 0 }],

    // Invalid reports: refused; acked (on this stream) only when the seq itself is valid.
    ['an invalid report with a valid seq is acked', book({ lastInStream: 2 }), report(3n, (r) => (r.cpu!.totalPercent = 250)), { verdict: 'reject', seq: 3, ackable: true, reason: /cpu/, lastInStream: 2 }],
    ['seq 0 is not acked', book(), report(0n), { verdict: 'reject', seq: 0, ackable: false, reason: /seq/, lastInStream: 0 }],
    ['a seq above LIMITS.maxSeq is not acked', book({ lastInStream: 2 ** 52 - 1 }), report(2n ** 52n + 1n), { verdict: 'reject', seq: 0, ackable: false, reason: /seq/, lastInStream: 2 ** 52 - 1 }],
    ['an invalid report is refused even at a duplicate seq', book({ lastInStream: 9, acceptedSeq: 9 }), report(4n, (r) => (r.memory!.usedBytes = -1)), { verdict: 'reject', seq: 4, ackable: true, reason: /memory/, lastInStream: 9 }],
    ['a report from the future', book(), report(1n, (r) => (r.timestampMs = BigInt(now + 3600_000))), { verdict: 'reject', seq: 1, ackable: true, reason: /future/, lastInStream: 0 }],

    // Labels: hello and report together, counted as the stored union.
    ['hello and report labels at the cap together', book({ helloLabels: labels(20, 'h') }), report(1n, (r) => (r.labels = labels(LIMITS.labels - 20, 'r'))), { verdict: 'accept', seq: 1, lastInStream: 1 }],
    ['hello and report labels one past the cap', book({ helloLabels: labels(20, 'h') }), report(1n, (r) => (r.labels = labels(LIMITS.labels - 19, 'r'))), { verdict: 'reject', seq: 1, ackable: true, reason: new RegExp(`^at most ${LIMITS.labels} labels \\(hello and report together\\)$`), lastInStream: 0 }],
    ['the same keys in hello and report count once', book({ helloLabels: labels(LIMITS.labels) }), report(1n, (r) => (r.labels = labels(LIMITS.labels))), { verdict: 'accept', seq: 1, lastInStream: 1 }],
    ['a duplicate is not refused for its labels', book({ lastInStream: 5, acceptedSeq: 5, helloLabels: labels(20, 'h') }), report(5n, (r) => (r.labels = labels(20, 'r'))), { verdict: 'duplicate', seq: 5, lastInStream: 5 }],
  ])('%s', (_name, bookkeeping, r, expected) => {
    const decision = decideReport(bookkeeping, r, now);
    expectDecision(decision, expected);
  });

  test('the report age limit is the one passed in', () => {
    const old = report(1n, (r) => (r.timestampMs = BigInt(now - 2 * 3600_000)));
    expect(decideReport(book(), old, now)).toMatchObject({ verdict: 'accept' });
    expect(decideReport(book(), old, now, { maxAgeMs: 3600_000 })).toMatchObject({ verdict: 'reject', ackable: true, reason: expect.stringMatching(/past/) });
  });

  test('the receipt time is the one passed in, not the clock', () => {
    const r = report(1n);
    expect(decideReport(book(), r, now)).toMatchObject({ verdict: 'accept' });
    // The same report received an hour before its own timestamp is from the future.
    expect(decideReport(book(), r, now - 3600_000)).toMatchObject({ verdict: 'reject', reason: expect.stringMatching(/future/) });
  });

  test('nothing is changed: neither the bookkeeping nor the report', () => {
    const b = book({ helloLabels: { role: 'web' }, lastInStream: 3 });
    const r = report(4n, (x) => (x.labels = { zone: 'a\u200bb' }));
    const before = structuredClone({ labels: r.labels, hostname: r.hostname });
    const decision = decideReport(b, r, now);
    expect(decision).toMatchObject({ verdict: 'accept', seq: 4, lastInStream: 4 });
    expect(b.lastInStream).toBe(3);
    expect({ labels: r.labels, hostname: r.hostname }).toEqual(before);
  });
});

function expectDecision(decision: ReportDecision, expected: { verdict: string } & Record<string, unknown>): void {
  expect(decision.verdict).toBe(expected.verdict);
  const { reason, message, ...rest } = expected as Record<string, unknown>;
  expect(decision).toMatchObject(rest);
  if (reason instanceof RegExp) expect((decision as { reason: string }).reason).toMatch(reason);
  if (message instanceof RegExp) expect((decision as { message: string }).message).toMatch(message);
}
