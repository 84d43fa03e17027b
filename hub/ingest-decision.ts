// What an ingest stream does with each message, pure: the state, event and history I/O around it
// lives in ingest-service.ts. No clock (the receipt time is passed in), no I/O.
//
// A stream message is a hello (first and only once), then reports:
//   decideMessage(request, helloSeen) → 'hello' | 'report' | a failure that ends the stream
// A hello of a machine the hub does not know yet counts against MAX_MACHINES:
//   decideAdmission(tracked, admitting, maxMachines) → 'admit' | a failure
//
// A report is decided against the stream's bookkeeping (its machine, the highest seq it accepted,
// whether a newer stream replaced it) and what the hub holds for that machine (the highest seq any
// stream accepted, the highest seq durable in history):
//   decideReport(bookkeeping, report, receivedAtMs) → fail | reject | duplicate | accept
// Checks run in this order, and nothing that fails one may move seq state:
//   1. the stream was replaced, or the report names another machine → the stream fails;
//   2. a seq more than LIMITS.seqWindow past the highest seq the hub holds → reject, not acked (a
//      poisoned seq must not make the real collector's later reports look like duplicates);
//   3. any problem validate-report.ts finds → reject, acked when the seq itself is valid (so the
//      collector stops resending it; it is acked on this stream only and never made durable);
//   4. a seq at or below what this stream or any stream accepted → duplicate, acked once the earlier
//      write is durable;
//   5. hello and report labels together beyond LIMITS.labels → reject, acked;
//   6. otherwise accept.
// Every decision but a failure carries the stream's next `lastInStream` (an accepted seq becomes it).
// The machine's own bookkeeping moves with I/O results, so the service keeps it: an accepted seq is
// the machine's accepted seq together with its history write, and a seq becomes durable when acked.
import { Code } from '@connectrpc/connect';
import type { StreamRequest } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { LIMITS, validateHello, validateReport, type ReportCheckOptions } from './validate-report.ts';

/** Ends the stream: the service throws `new ConnectError(message, code)`. */
export interface StreamFailure {
  readonly verdict: 'fail';
  readonly code: Code;
  readonly message: string;
}

const HELLO_TWICE: StreamFailure = Object.freeze({ verdict: 'fail', code: Code.InvalidArgument, message: 'hello sent twice on one stream' });
const REPORT_BEFORE_HELLO: StreamFailure = Object.freeze({ verdict: 'fail', code: Code.FailedPrecondition, message: 'the first message on a stream must be a hello' });
const EMPTY_MESSAGE: StreamFailure = Object.freeze({ verdict: 'fail', code: Code.InvalidArgument, message: 'empty stream message' });
const REPLACED: StreamFailure = Object.freeze({ verdict: 'fail', code: Code.Aborted, message: 'this stream was replaced by a newer stream for the same machine' });

/**
 * Which step a stream message is: a hello (validated: the service goes on with the collector's
 * token, MAX_MACHINES and the Welcome), a report, or a failure that ends the stream.
 */
export function decideMessage(req: StreamRequest, helloSeen: boolean): 'hello' | 'report' | StreamFailure {
  if (req.kind.case === 'hello') {
    if (helloSeen) return HELLO_TWICE;
    const problem = validateHello(req.kind.value);
    if (problem) return { verdict: 'fail', code: Code.InvalidArgument, message: `invalid hello: ${problem}` };
    return 'hello';
  }
  if (req.kind.case === 'report') return helloSeen ? 'report' : REPORT_BEFORE_HELLO;
  return EMPTY_MESSAGE;
}

/**
 * A new machine's hello: admitted while the machines the hub tracks plus those being admitted (their
 * first report on its way) stay below MAX_MACHINES; otherwise the stream fails with RESOURCE_EXHAUSTED.
 */
export function decideAdmission(trackedMachines: number, admittingMachines: number, maxMachines: number): 'admit' | StreamFailure {
  if (trackedMachines + admittingMachines < maxMachines) return 'admit';
  return { verdict: 'fail', code: Code.ResourceExhausted, message: `the hub already tracks its limit of ${maxMachines} machines (MAX_MACHINES)` };
}

/** What a report is decided against. The service keeps one per stream and refreshes the machine's fields before each report. */
export interface ReportBookkeeping {
  /** The machine of the stream's hello. */
  machineId: string;
  /** The hello's labels (neutralised). */
  helloLabels: Readonly<Record<string, string>>;
  /** A newer stream for the same machine id took over this one. */
  replaced: boolean;
  /** Highest seq accepted on this stream (at hello: the machine's durable seq). */
  lastInStream: number;
  /** Highest seq of this machine accepted by any stream whose history write has not failed (0: none). */
  acceptedSeq: number;
  /** Highest seq of this machine known durable in history (0: none). */
  durableSeq: number;
}

export type ReportDecision =
  | StreamFailure
  /** Stored: current state, event, history; acked once durable. */
  | { readonly verdict: 'accept'; readonly seq: number; readonly lastInStream: number }
  /** Already accepted: acked once the earlier write is durable, nothing stored. */
  | { readonly verdict: 'duplicate'; readonly seq: number; readonly lastInStream: number }
  /** Refused with a Reject; `ackable`: acked on this stream (never durable) so the collector stops resending. */
  | { readonly verdict: 'reject'; readonly seq: number; readonly reason: string; readonly ackable: boolean; readonly lastInStream: number };

/** Decides one report; `check` is passed to validateReport (one object per service, not per report). */
export function decideReport(book: Readonly<ReportBookkeeping>, report: Report, receivedAtMs: number, check?: ReportCheckOptions): ReportDecision {
  if (book.replaced) return REPLACED;
  if (report.machineId !== book.machineId) {
    return { verdict: 'fail', code: Code.InvalidArgument, message: `report for machine "${report.machineId}" on the stream of "${book.machineId}"` };
  }
  const lastInStream = book.lastInStream;
  // Validated in full before anything below may move seq state.
  const problem = validateReport(report, receivedAtMs, check);
  const seqValid = report.seq >= 1n && report.seq <= BigInt(LIMITS.maxSeq);
  const seq = seqValid ? Number(report.seq) : 0;
  const highWater = Math.max(lastInStream, book.acceptedSeq, book.durableSeq);
  if (seqValid && seq > highWater + LIMITS.seqWindow) {
    const reason = `seq ${seq} jumps more than ${LIMITS.seqWindow} past the highest seq the hub holds for this machine (${highWater})`;
    return { verdict: 'reject', seq, reason, ackable: false, lastInStream };
  }
  if (problem) return { verdict: 'reject', seq, reason: problem, ackable: seqValid, lastInStream };
  if (seq <= lastInStream || seq <= book.acceptedSeq) return { verdict: 'duplicate', seq, lastInStream };
  // Hello and report labels together must stay within the cap every viewer of the fleet checks.
  if (mergedLabelCount(book.helloLabels, report.labels) > LIMITS.labels) {
    return { verdict: 'reject', seq, reason: `at most ${LIMITS.labels} labels (hello and report together)`, ackable: true, lastInStream };
  }
  return { verdict: 'accept', seq, lastInStream: seq };
}

/** The number of keys of `{ ...a, ...b }`, without building it. */
function mergedLabelCount(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): number {
  let count = 0;
  for (const key in a) if (Object.hasOwn(a, key)) count++;
  for (const key in b) if (Object.hasOwn(b, key) && !Object.hasOwn(a, key)) count++;
  return count;
}
