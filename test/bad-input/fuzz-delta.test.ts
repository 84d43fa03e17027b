// Property tests (fast-check, fixed seed) for the live fleet delta format (proto/delta.ts), the merge
// every hop relies on (hub → relay, relay → viewers, hub → dashboard):
//   - For random sequences of fleet changes (machines appearing, changing any field, disappearing and
//     coming back, time passing), readers that apply the encoder's frames hold exactly the source
//     fleet after every frame: one from the start, viewers joining late through a snapshot, and a
//     receiver started over with restart().
//   - A delta that uses a machine number the reader was never told about raises FleetResyncError and
//     changes nothing: not even the announcements in that same frame; the reader keeps following the
//     real stream afterwards, and a fresh reader resyncs from a snapshot.
//   - Mutated frames: decodeFleetMessage rejects with an Error or yields a message the reader resolves
//     (or refuses with FleetResyncError), and applying it never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDelta,
  createFleetEncoder,
  createFleetReader,
  decodeFleetMessage,
  diffMachine,
  FleetResyncError,
  liveValues,
  LIVE_METRICS,
  MAX_KEY,
  type FleetReader,
  type MachineView,
  type WireUpdate,
} from '../../proto/delta.ts';
import type { Metrics } from '../../proto/metrics.ts';
import { MACHINE_STATUSES } from '../../proto/status.ts';

const SEED = 0x5eed_de17;
const params = (numRuns: number) => ({ seed: SEED, numRuns });
const START_TS = 1_767_225_600_000;
/** A small pool, so machines are removed and come back (and get new numbers) often. */
const IDS = ['web-01', 'web-02', 'db.primary', 'cache_1', 'edge-7', 'x', 'build-host-0042', 'a.b-c_d'];

const textArb = (max: number) => fc.string({ maxLength: max });
const labelsArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 16 }), textArb(24), { maxKeys: 5 });
const rawMetricsArb: fc.Arbitrary<Partial<Metrics>> = fc
  .array(fc.tuple(fc.constantFrom(...LIVE_METRICS), fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true })), { maxLength: LIVE_METRICS.length })
  .map((pairs) => Object.fromEntries(pairs) as Partial<Metrics>);

/** Changes to one machine; absent fields keep their value (a new machine takes defaults for them). */
interface MachineChange {
  name?: string;
  host?: string;
  status?: (typeof MACHINE_STATUSES)[number];
  labels?: Record<string, string>;
  intervalMs?: number;
  /** lastSeen = ts - seenAgoMs */
  seenAgoMs: number;
  metrics: Partial<Metrics>;
}

type Op =
  | { op: 'upsert'; ids: number[]; change: MachineChange }
  | { op: 'remove'; id: number }
  | { op: 'join' }
  | { op: 'restart' }
  | { op: 'tick'; dtMs: number };

const changeArb: fc.Arbitrary<MachineChange> = fc.record(
  {
    name: textArb(40),
    host: textArb(40),
    status: fc.constantFrom(...MACHINE_STATUSES),
    labels: labelsArb,
    intervalMs: fc.integer({ min: 100, max: 3_600_000 }),
    seenAgoMs: fc.integer({ min: 0, max: 120_000 }),
    metrics: rawMetricsArb,
  },
  { requiredKeys: ['seenAgoMs', 'metrics'] },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('upsert' as const), ids: fc.uniqueArray(fc.nat(IDS.length - 1), { minLength: 1, maxLength: 4 }), change: changeArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), id: fc.nat(IDS.length - 1) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'join' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tick' as const), dtMs: fc.integer({ min: 1, max: 5000 }) }) },
);

function applyChange(prev: MachineView | undefined, id: string, c: MachineChange, ts: number): MachineView {
  return {
    id,
    name: c.name ?? prev?.name ?? id,
    host: c.host ?? prev?.host ?? id,
    status: c.status ?? prev?.status ?? 'healthy',
    labels: c.labels ?? prev?.labels ?? {},
    intervalMs: c.intervalMs ?? prev?.intervalMs ?? 1000,
    lastSeen: ts - c.seenAgoMs,
    // The live format carries changes, never the disappearance of a metric: values only accumulate.
    values: { ...prev?.values, ...liveValues(c.metrics) },
  };
}

/** A receiver: validates and resolves each frame with its own reader, keeps the fleet by id. */
function receiver() {
  const reader: FleetReader = createFleetReader();
  const fleet = new Map<string, MachineView>();
  return {
    reader,
    fleet,
    take(text: string) {
      const frame = reader.read(decodeFleetMessage(text));
      if (frame.t === 's') {
        fleet.clear();
        for (const m of frame.machines) fleet.set(m.id, m);
      } else applyDelta(fleet, frame.updates, frame.removed, frame.ts);
    },
  };
}
type Receiver = ReturnType<typeof receiver>;

const sorted = (fleet: Map<string, MachineView>) => Object.fromEntries([...fleet].sort(([a], [b]) => a.localeCompare(b)));

type Check = (source: Map<string, MachineView>, receivers: Receiver[], ts: number) => void;

/**
 * The sender side of a stream: `source` is the truth, `sent` what every receiver holds. Each op ends
 * with a delta (diff of sent → source) to every receiver; a join gets a snapshot of `sent`; a restart
 * leaves one receiver that starts over. `check` runs after every frame.
 */
function createStream(check: Check) {
  const encoder = createFleetEncoder();
  const source = new Map<string, MachineView>();
  let sent = new Map<string, MachineView>();
  let receivers: Receiver[] = [receiver()];
  let ts = START_TS;
  receivers[0].take(encoder.snapshot([], ts));
  return {
    get receivers() {
      return receivers;
    },
    get sent() {
      return sent;
    },
    step(op: Op) {
      ts += 1 + (op.op === 'tick' ? op.dtMs : 0);
      if (op.op === 'join') {
        const late = receiver();
        late.take(encoder.snapshot(sent.values(), ts));
        receivers.push(late);
        check(sent, receivers, ts);
        return;
      }
      if (op.op === 'restart') {
        const again = receiver();
        again.take(encoder.restart(sent.values(), ts));
        receivers = [again];
        check(sent, receivers, ts);
        return;
      }
      if (op.op === 'upsert') for (const i of op.ids) source.set(IDS[i], applyChange(source.get(IDS[i]), IDS[i], op.change, ts));
      if (op.op === 'remove') source.delete(IDS[op.id]);
      const updates: WireUpdate[] = [];
      for (const [id, next] of source) {
        const u = diffMachine(sent.get(id), next, ts);
        if (u) updates.push(u);
      }
      const removed = [...sent.keys()].filter((id) => !source.has(id));
      const frame = encoder.delta(updates, removed, ts);
      for (const r of receivers) r.take(frame);
      sent = new Map([...source].map(([id, m]) => [id, structuredClone(m)]));
      check(source, receivers, ts);
    },
  };
}

const expectInStep: Check = (source, receivers) => {
  for (const r of receivers) expect(sorted(r.fleet)).toEqual(sorted(source));
};

describe('delta merge (fast-check, fixed seed)', () => {
  it('readers that apply the encoder frames hold exactly the source fleet after every frame', () => {
    let frames = 0;
    let maxReceivers = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'medium' }), (ops) => {
        const stream = createStream((source, receivers, ts) => {
          frames++;
          maxReceivers = Math.max(maxReceivers, receivers.length);
          expectInStep(source, receivers, ts);
        });
        for (const op of ops) stream.step(op);
      }),
      params(300),
    );
    expect(maxReceivers).toBeGreaterThan(2); // late joiners were exercised
    console.log(`delta merge: ${frames} frames checked, up to ${maxReceivers} receivers at once`);
  });

  it('an unknown machine number raises FleetResyncError and changes nothing, not even the frame announcements', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: MAX_KEY - 1000, max: MAX_KEY }),
        fc.boolean(),
        fc.array(opArb, { minLength: 1, maxLength: 10 }),
        (before, ghostKey, withKnownUpdate, after) => {
          const stream = createStream(expectInStep);
          for (const op of before) stream.step(op);
          const r = stream.receivers[stream.receivers.length - 1];
          const held = structuredClone(sorted(r.fleet));
          // Announces a new number, updates a known machine (maybe), then one nobody announced.
          const known = r.fleet.size > 0 && withKnownUpdate ? decodeKnownKey(r) : undefined;
          const u: unknown[] = [];
          if (known !== undefined) u.push([known, 0, 0, 99.9]);
          u.push([ghostKey, 0, 0, 1]);
          const bad = JSON.stringify({ t: 'd', ts: START_TS, a: [[ghostKey - 1, 'ghost-announced']], u });
          expect(() => r.reader.read(decodeFleetMessage(bad))).toThrow(FleetResyncError);
          expect(sorted(r.fleet)).toEqual(held);
          // The announcement in the refused frame was not applied either.
          const usesAnnounced = JSON.stringify({ t: 'd', ts: START_TS, u: [[ghostKey - 1, 0, 0, 1]] });
          expect(() => r.reader.read(decodeFleetMessage(usesAnnounced))).toThrow(FleetResyncError);
          expect(sorted(r.fleet)).toEqual(sorted(stream.sent));
          // A reader that starts over (no snapshot yet) cannot apply a delta of known numbers...
          if (known !== undefined) {
            const fresh = receiver();
            expect(() => fresh.take(JSON.stringify({ t: 'd', ts: START_TS, u: [[known, 0, 0, 1]] }))).toThrow(FleetResyncError);
            expect(fresh.fleet.size).toBe(0);
          }
          // ...and the stream goes on: the same readers, the refused frames behind them, keep matching.
          for (const op of after) stream.step(op);
        },
      ),
      params(200),
    );
  });

  it('mutated frames are rejected with an Error or resolved; applying them never throws', () => {
    const tally = { rejected: 0, resync: 0, applied: 0 };
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 126 })), { minLength: 1, maxLength: 4 }),
        (ops, edits) => {
          const encoder = createFleetEncoder();
          const frames: string[] = [];
          const fleet = new Map<string, MachineView>();
          let ts = START_TS;
          frames.push(encoder.snapshot([], ts));
          for (const op of ops) {
            ts += 1;
            if (op.op !== 'upsert') continue;
            const updates = op.ids.map((i) => {
              const next = applyChange(fleet.get(IDS[i]), IDS[i], op.change, ts);
              const u = diffMachine(fleet.get(IDS[i]), next, ts);
              fleet.set(IDS[i], next);
              return u;
            });
            frames.push(encoder.delta(updates.filter((u): u is WireUpdate => u !== null), [], ts));
          }
          const reader = createFleetReader();
          const state = new Map<string, MachineView>();
          for (const original of frames) {
            let text = original;
            for (const [at, code] of edits) {
              const i = at % (text.length + 1);
              text = text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1);
            }
            let msg;
            try {
              msg = decodeFleetMessage(text);
            } catch (err) {
              expect(err).toBeInstanceOf(Error);
              expect((err as Error).message).toMatch(/^invalid fleet message/);
              tally.rejected++;
              continue;
            }
            let frame;
            try {
              frame = reader.read(msg);
            } catch (err) {
              expect(err).toBeInstanceOf(FleetResyncError);
              tally.resync++;
              continue;
            }
            tally.applied++;
            if (frame.t === 's') {
              state.clear();
              for (const m of frame.machines) state.set(m.id, m);
            } else expect(() => applyDelta(state, frame.updates, frame.removed, frame.ts)).not.toThrow();
          }
        },
      ),
      params(500),
    );
    console.log(`mutated fleet frames: ${JSON.stringify(tally)}`);
    expect(tally.rejected).toBeGreaterThan(0);
    expect(tally.applied).toBeGreaterThan(0);
  });
});

/** A machine number `r` knows (from the last snapshot or announcements), found by asking its reader. */
function decodeKnownKey(r: Receiver): number | undefined {
  for (let k = 0; k < 10_000; k++) {
    try {
      const frame = r.reader.read(decodeFleetMessage(JSON.stringify({ t: 'd', ts: START_TS, u: [[k, 0]] })));
      if (frame.t === 'd' && frame.updates.length === 1) return k;
    } catch {
      /* not this one */
    }
  }
  return undefined;
}
