import { describe, expect, test } from 'vitest';
import {
  applyDelta,
  createFleetEncoder,
  createFleetReader,
  decodeFleetMessage,
  diffMachine,
  FleetResyncError,
  liveValues,
  type FleetFrame,
  type MachineView,
} from '../../proto/delta.ts';

const base: MachineView = {
  id: 'web-01',
  name: 'Web 01',
  host: 'web-01.example',
  status: 'healthy',
  labels: { role: 'web' },
  intervalMs: 1000,
  lastSeen: 1_700_000_000_000,
  values: liveValues({ cpu_percent: 12.345, memory_percent: 40.04, disk_percent: 70, load_avg_1m: 0.5, network_recv_bytes_sec: 1234.4, network_sent_bytes_sec: 99 }),
};
const other: MachineView = { ...base, id: 'db-01', name: 'DB 01', host: 'db-01.example' };

/** One receiver: validates and resolves each frame with its own reader, keeps the fleet by id. */
function receiver() {
  const reader = createFleetReader();
  const fleet = new Map<string, MachineView>();
  return {
    fleet,
    take(text: string): FleetFrame {
      const frame = reader.read(decodeFleetMessage(text));
      if (frame.t === 's') {
        fleet.clear();
        for (const m of frame.machines) fleet.set(m.id, m);
      } else applyDelta(fleet, frame.updates, frame.removed, frame.ts);
      return frame;
    },
  };
}

describe('delta format', () => {
  test('values are rounded to wire precision', () => {
    expect(base.values.cpu_percent).toBe(12.3);
    expect(base.values.network_recv_bytes_sec).toBe(1234);
  });

  test('snapshot round-trips through encode, validate and resolve', () => {
    const r = receiver();
    const frame = r.take(createFleetEncoder().snapshot([base, other], 5));
    expect(frame).toEqual({ t: 's', ts: 5, machines: [base, other] });
  });

  test('a delta carries only changed fields, by machine number, and applies back to the same view', () => {
    const encoder = createFleetEncoder();
    const r = receiver();
    r.take(encoder.restart([base, other], 1));
    const next: MachineView = { ...base, lastSeen: base.lastSeen + 1000, values: { ...base.values, cpu_percent: 55.5 } };
    const ts = next.lastSeen + 20;
    const update = diffMachine(base, next, ts)!;
    expect(update).toEqual(['web-01', 20, { 0: 55.5 }]);
    const text = encoder.delta([update], [], ts);
    expect(JSON.parse(text)).toEqual({ t: 'd', ts, u: [[0, 20, 0, 55.5]] }); // no id, no announcement
    expect(r.take(text)).toEqual({ t: 'd', ts, updates: [update], removed: [] });
    expect(r.fleet.get('web-01')).toEqual(next);
  });

  test('new machines are announced once, then referred to by number; removals too', () => {
    const encoder = createFleetEncoder();
    const r = receiver();
    r.take(encoder.restart([base], 1));
    const added = diffMachine(undefined, other, other.lastSeen)!;
    const first = JSON.parse(encoder.delta([added], [], other.lastSeen));
    expect(first.a).toEqual([[1, 'db-01']]);
    r.take(JSON.stringify(first));
    expect(r.fleet.get('db-01')).toEqual(other);
    const second = encoder.delta([['db-01', 0, { 0: 1 }]], ['web-01'], other.lastSeen);
    expect(JSON.parse(second)).toEqual({ t: 'd', ts: other.lastSeen, u: [[1, 0, 0, 1]], r: [0] });
    expect(r.take(second)).toMatchObject({ removed: ['web-01'] });
    expect([...r.fleet.keys()]).toEqual(['db-01']);
    // a machine that comes back gets a new number, announced again
    expect(JSON.parse(encoder.delta([diffMachine(undefined, base, 1)!], [], 1)).a).toEqual([[2, 'web-01']]);
  });

  test('a receiver that joins late shares every later delta with the earlier ones', () => {
    const encoder = createFleetEncoder();
    const early = receiver();
    early.take(encoder.restart([base], 1));
    // another machine appears; a late viewer joins before the next delta and gets a snapshot with it
    const late = receiver();
    late.take(encoder.snapshot([base, other], 2));
    const delta = encoder.delta([['db-01', 0, { 0: 9 }]], [], 3);
    expect(JSON.parse(delta).a).toEqual([[1, 'db-01']]); // numbered in the late snapshot, announced to everyone
    for (const r of [early, late]) {
      r.take(delta);
      expect(r.fleet.get('db-01')?.values.cpu_percent).toBe(9);
    }
  });

  test('an unknown machine number asks for a resync and changes nothing', () => {
    const r = receiver();
    r.take(createFleetEncoder().snapshot([base], 1));
    expect(() => r.take('{"t":"d","ts":2,"u":[[0,0,0,5],[3,0,0,7]]}')).toThrow(FleetResyncError);
    expect(r.fleet.get('web-01')?.values.cpu_percent).toBe(12.3);
    // a removal of an unknown number is nothing to do
    expect(r.take('{"t":"d","ts":2,"u":[],"r":[3]}')).toEqual({ t: 'd', ts: 2, updates: [], removed: [] });
  });

  test('no change → no update; status and label changes travel', () => {
    expect(diffMachine(base, base, base.lastSeen)).toBeNull();
    const offline = { ...base, status: 'offline' as const, labels: { role: 'db' } };
    expect(diffMachine(base, offline, base.lastSeen)?.[2]).toEqual({ s: 'offline', l: { role: 'db' } });
    const encoder = createFleetEncoder();
    const r = receiver();
    r.take(encoder.restart([base], 1));
    r.take(encoder.delta([diffMachine(base, offline, base.lastSeen)!], [], base.lastSeen));
    expect(r.fleet.get('web-01')).toEqual(offline);
  });

  test('a typical update is at most 64 bytes per changed machine, even with a long id', () => {
    const long: MachineView = { ...base, id: 'frontend-web-017.eu-west-1.prod.example.com' };
    const next: MachineView = {
      ...long,
      lastSeen: long.lastSeen + 1000,
      values: { ...long.values, cpu_percent: 56.7, memory_percent: 41.2, load_avg_1m: 0.52, network_recv_bytes_sec: 123456, network_sent_bytes_sec: 65432 },
    };
    const encoder = createFleetEncoder();
    encoder.restart([long], 1);
    const delta = JSON.parse(encoder.delta([diffMachine(long, next, next.lastSeen + 15)!], [], next.lastSeen + 15));
    expect(JSON.stringify(delta.u[0]).length + 1).toBeLessThanOrEqual(64);
  });

  test.each([
    ['not json', '{'],
    ['unknown type', '{"t":"x","ts":1}'],
    ['bad id in a snapshot', '{"t":"s","ts":1,"m":[{"k":0,"id":"<img>","n":"","h":"","s":"healthy","l":{},"i":1000,"seen":1,"v":{}}]}'],
    ['snapshot without numbers', '{"t":"s","ts":1,"m":[{"id":"a","n":"","h":"","s":"healthy","l":{},"i":1000,"seen":1,"v":{}}]}'],
    ['a machine twice', '{"t":"s","ts":1,"m":[{"k":0,"id":"a","n":"","h":"","s":"healthy","l":{},"i":1000,"seen":1,"v":{}},{"k":0,"id":"b","n":"","h":"","s":"healthy","l":{},"i":1000,"seen":1,"v":{}}]}'],
    ['bad id in an announcement', '{"t":"d","ts":1,"a":[[0,"<img>"]],"u":[]}'],
    ['negative machine number', '{"t":"d","ts":1,"u":[[-1,0]]}'],
    ['fractional machine number', '{"t":"d","ts":1,"u":[[0.5,0]]}'],
    ['string value', '{"t":"d","ts":1,"u":[[0,0,0,"12"]]}'],
    ['unknown metric index', '{"t":"d","ts":1,"u":[[0,0,99,1]]}'],
    ['unknown field', '{"t":"d","ts":1,"u":[[0,0,"x",1]]}'],
    ['bad status', '{"t":"d","ts":1,"u":[[0,0,"s","pwned"]]}'],
    ['field without a value', '{"t":"d","ts":1,"u":[[0,0,0]]}'],
    ['short update', '{"t":"d","ts":1,"u":[[0]]}'],
    ['too many machines', JSON.stringify({ t: 'd', ts: 1, u: Array.from({ length: 3 }, (_, i) => [i, 0]) })],
    ['labels not strings', '{"t":"d","ts":1,"u":[[0,0,"l",{"x":1}]]}'],
    ['removal by id', '{"t":"d","ts":1,"u":[],"r":["a"]}'],
  ])('rejects %s', (_name, raw) => {
    expect(() => decodeFleetMessage(raw, 2)).toThrow(/invalid fleet message/);
  });
});
