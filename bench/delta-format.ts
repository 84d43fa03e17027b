// Which wire format for the live fleet deltas (hub → relay → every viewer)? Compares, on the same
// simulated fleet:
//   - the compact JSON of proto/delta.ts (machines by number, flat [field, value] pairs);
//   - the first JSON layout it replaced (machines by id, changes as an object {"0":54.3,...});
//   - a protobuf binary encoding of the same content (what a FleetDelta message would put on the wire:
//     machine number, seen offset, packed metric indexes and values as double or as float), written
//     with @bufbuild/protobuf's BinaryWriter/BinaryReader.
// For each:
//   - bytes per changed machine (the relay sends the same bytes to every viewer: bandwidth);
//   - hub encode time per delta, and decode time per delta (paid by every browser once per push);
//   - relay merge time per delta with the real FleetPicture (JSON only: the relay's work either way).
// Run: node bench/delta-format.ts [machines=1000] [pushes=60]
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FleetPicture } from '../durable-objects/fleet-picture.ts';
import { seededRandom, syntheticMachine } from './synthetic-fleet.ts';
import { createFleetEncoder, createFleetReader, decodeFleetMessage, diffMachine, liveValues, LIVE_METRICS, type MachineView, type WireUpdate } from '../proto/delta.ts';

const machines = Number(process.argv[2] ?? 1000);
const pushes = Number(process.argv[3] ?? 60);

// ---- a fleet that moves like a real one --------------------------------------------------------
const random = seededRandom(42);
const initial = (i: number): MachineView => syntheticMachine(i, 1_700_000_000_000, random);

function step(m: MachineView, tick: number): MachineView {
  const v = m.values;
  const drift = (x: number | undefined, scale: number) => Math.max(0, (x ?? 0) + (random() - 0.5) * scale);
  return {
    ...m,
    lastSeen: m.lastSeen + 1000,
    values: liveValues({
      ...v,
      cpu_percent: Math.min(100, drift(v.cpu_percent, 20)),
      memory_percent: random() < 0.3 ? Math.min(100, drift(v.memory_percent, 1)) : v.memory_percent,
      network_recv_bytes_sec: drift(v.network_recv_bytes_sec, 2e5),
      network_sent_bytes_sec: drift(v.network_sent_bytes_sec, 2e5),
      disk_read_bytes_sec: random() < 0.5 ? 0 : drift(v.disk_read_bytes_sec, 5e4),
      disk_write_bytes_sec: drift(v.disk_write_bytes_sec, 5e4),
      load_avg_1m: tick % 5 === 0 ? drift(v.load_avg_1m, 0.3) : v.load_avg_1m,
      load_avg_5m: tick % 5 === 0 ? drift(v.load_avg_5m, 0.1) : v.load_avg_5m,
      load_avg_15m: tick % 5 === 0 ? drift(v.load_avg_15m, 0.05) : v.load_avg_15m,
      uptime_seconds: (v.uptime_seconds ?? 0) + 1,
      process_count: random() < 0.2 ? (v.process_count ?? 0) + 1 : v.process_count,
    }),
  };
}

// ---- protobuf binary of the same content --------------------------------------------------------
// message FleetDelta { int64 ts = 1; repeated Update u = 2; repeated string r = 3; }
// message Update { uint32 machine = 1; uint32 seen_offset = 2; repeated uint32 keys = 3 [packed]; repeated double|float values = 4 [packed]; string status = 5; }
// (machines numbered like the JSON format, so both compare on the same terms)
function encodeProto(updates: WireUpdate[], ts: number, asFloat: boolean, numbers: Map<string, number>): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int64(ts);
  for (const [id, offset, changes] of updates) {
    w.tag(2, WireType.LengthDelimited).fork();
    w.tag(1, WireType.Varint).uint32(numbers.get(id)!);
    w.tag(2, WireType.Varint).uint32(offset);
    const keys: number[] = [];
    const values: number[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (typeof v === 'number' && /^\d+$/.test(k)) {
        keys.push(Number(k));
        values.push(v);
      }
    }
    w.tag(3, WireType.LengthDelimited).fork();
    for (const k of keys) w.uint32(k);
    w.join();
    w.tag(4, WireType.LengthDelimited).fork();
    for (const v of values) (asFloat ? w.float(v) : w.double(v));
    w.join();
    if (typeof changes.s === 'string') w.tag(5, WireType.LengthDelimited).string(changes.s);
    w.join();
  }
  return w.finish();
}

function decodeProto(bytes: Uint8Array, asFloat: boolean): number {
  const r = new BinaryReader(bytes);
  let count = 0;
  while (r.pos < r.len) {
    const [field, wt] = r.tag();
    if (field !== 2) {
      r.skip(wt);
      continue;
    }
    const u = new BinaryReader(r.bytes());
    const keys: number[] = [];
    const values: number[] = [];
    while (u.pos < u.len) {
      const [f, t] = u.tag();
      if (f === 1 || f === 2) u.uint32();
      else if (f === 3) {
        const end = u.uint32() + u.pos;
        while (u.pos < end) keys.push(u.uint32());
      } else if (f === 4) {
        const end = u.uint32() + u.pos;
        while (u.pos < end) values.push(asFloat ? u.float() : u.double());
      } else u.skip(t);
    }
    count += keys.length === values.length ? 1 : 0;
  }
  return count;
}

// ---- run ---------------------------------------------------------------------------------------
function timeMs(fn: () => void, repeat: number): number {
  fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / repeat;
}

/** The first layout: {"t":"d","ts","u":[[id, offset, {"0":54.3,...}]...]} — ids in every update. */
const encodeById = (updates: WireUpdate[], ts: number) => JSON.stringify({ t: 'd', ts, u: updates });

let fleet = Array.from({ length: machines }, (_, i) => initial(i));
const numbers = new Map(fleet.map((m, i) => [m.id, i]));
const encoder = createFleetEncoder();
encoder.restart(fleet, fleet[0].lastSeen);
const totals = { json: 0, byId: 0, protoDouble: 0, protoFloat: 0, updates: 0, metricChanges: 0 };
const frames: Array<{ updates: WireUpdate[]; ts: number; json: string }> = [];
for (let tick = 1; tick <= pushes; tick++) {
  const next = fleet.map((m) => step(m, tick));
  const ts = next[0].lastSeen + 200;
  const updates = next.map((m, i) => diffMachine(fleet[i], m, ts)).filter((u): u is WireUpdate => u !== null);
  const json = encoder.delta(updates, [], ts);
  totals.json += Buffer.byteLength(json);
  totals.byId += Buffer.byteLength(encodeById(updates, ts));
  totals.protoDouble += encodeProto(updates, ts, false, numbers).length;
  totals.protoFloat += encodeProto(updates, ts, true, numbers).length;
  totals.updates += updates.length;
  totals.metricChanges += updates.reduce((n, u) => n + Object.keys(u[2]).length, 0);
  frames.push({ updates, ts, json });
  fleet = next;
}

const sample = frames[frames.length - 1];
const protoSample = encodeProto(sample.updates, sample.ts, false, numbers);
const floatSample = encodeProto(sample.updates, sample.ts, true, numbers);
const byIdSample = encodeById(sample.updates, sample.ts);
const repeat = Math.max(5, Math.round(20_000 / machines));
const reader = createFleetReader();
reader.read(decodeFleetMessage(createFleetEncoder().restart(fleet, sample.ts)));
const jsonEncodeMs = timeMs(() => encoder.delta(sample.updates, [], sample.ts), repeat);
const byIdEncodeMs = timeMs(() => encodeById(sample.updates, sample.ts), repeat);
const protoEncodeMs = timeMs(() => encodeProto(sample.updates, sample.ts, false, numbers), repeat);
const jsonDecodeMs = timeMs(() => reader.read(decodeFleetMessage(sample.json)), repeat);
const byIdParseMs = timeMs(() => JSON.parse(byIdSample), repeat);
const protoDecodeMs = timeMs(() => decodeProto(protoSample, false), repeat);
const floatDecodeMs = timeMs(() => decodeProto(floatSample, true), repeat);

const relay = new FleetPicture({ maxMachines: 20_000, offlineAfterMs: 30_000, recentPoints: 60 });
const relayHub = createFleetEncoder();
relay.ingest(relayHub.restart(fleet, sample.ts), 0);
const relayFrames = frames.map((f) => relayHub.delta(f.updates, [], f.ts));
let frameIndex = 0;
const relayMergeMs = timeMs(() => relay.ingest(relayFrames[frameIndex++ % relayFrames.length], 0), Math.min(frames.length, repeat));

const per = (bytes: number) => (bytes / totals.updates).toFixed(1);
console.log(`delta format, ${machines} machines × ${pushes} pushes (${LIVE_METRICS.length} live metrics, ${(totals.metricChanges / totals.updates).toFixed(1)} fields changed per update on average, ids like "${fleet[0].id}")`);
console.table({
  'JSON by number (proto/delta.ts)': { 'bytes/changed machine': per(totals.json), 'encode ms/delta': jsonEncodeMs.toFixed(2), 'decode ms/delta': `${jsonDecodeMs.toFixed(2)} (parse+validate+resolve)` },
  'JSON by id (first layout)': { 'bytes/changed machine': per(totals.byId), 'encode ms/delta': byIdEncodeMs.toFixed(2), 'decode ms/delta': `${byIdParseMs.toFixed(2)} (parse only)` },
  'protobuf, double values': { 'bytes/changed machine': per(totals.protoDouble), 'encode ms/delta': protoEncodeMs.toFixed(2), 'decode ms/delta': `${protoDecodeMs.toFixed(2)} (decode only)` },
  'protobuf, float values': { 'bytes/changed machine': per(totals.protoFloat), 'encode ms/delta': '', 'decode ms/delta': `${floatDecodeMs.toFixed(2)} (decode only)` },
});
console.log(`relay merge + broadcast encode (FleetPicture.ingest): ${relayMergeMs.toFixed(2)} ms/delta`);
