import { describe, expect, test } from 'vitest';
import {
  applyDelta,
  decodeFleetMessage,
  diffMachine,
  encodeDelta,
  encodeSnapshot,
  fromWireMachine,
  liveValues,
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

describe('delta format', () => {
  test('values are rounded to wire precision', () => {
    expect(base.values.cpu_percent).toBe(12.3);
    expect(base.values.network_recv_bytes_sec).toBe(1234);
  });

  test('snapshot round-trips through encode, validate and decode', () => {
    const msg = decodeFleetMessage(encodeSnapshot([base], 5));
    expect(msg.t).toBe('s');
    if (msg.t !== 's') return;
    expect(fromWireMachine(msg.m[0])).toEqual(base);
  });

  test('a delta carries only changed fields and applies back to the same view', () => {
    const next: MachineView = { ...base, lastSeen: base.lastSeen + 1000, values: { ...base.values, cpu_percent: 55.5 } };
    const ts = next.lastSeen + 20;
    const update = diffMachine(base, next, ts)!;
    expect(update).toEqual(['web-01', 20, { 0: 55.5 }]);
    const fleet = new Map([[base.id, base]]);
    const delta = decodeFleetMessage(encodeDelta([update], [], ts));
    expect(delta.t).toBe('d');
    if (delta.t !== 'd') return;
    expect(applyDelta(fleet, delta)).toEqual(['web-01']);
    expect(fleet.get('web-01')).toEqual(next);
  });

  test('no change → no update; status and label changes travel', () => {
    expect(diffMachine(base, base, base.lastSeen)).toBeNull();
    const offline = { ...base, status: 'offline' as const, labels: { role: 'db' } };
    expect(diffMachine(base, offline, base.lastSeen)?.[2]).toEqual({ s: 'offline', l: { role: 'db' } });
  });

  test('a typical update is at most 64 bytes per changed machine', () => {
    const next: MachineView = {
      ...base,
      lastSeen: base.lastSeen + 1000,
      values: { ...base.values, cpu_percent: 56.7, memory_percent: 41.2, load_avg_1m: 0.52, network_recv_bytes_sec: 123456, network_sent_bytes_sec: 65432 },
    };
    const update = diffMachine(base, next, next.lastSeen + 15)!;
    expect(JSON.stringify(update).length + 1).toBeLessThanOrEqual(64);
  });

  test('removed machines leave the snapshot', () => {
    const fleet = new Map([[base.id, base]]);
    applyDelta(fleet, { t: 'd', ts: 1, u: [], r: ['web-01'] });
    expect(fleet.size).toBe(0);
  });

  test.each([
    ['not json', '{'],
    ['unknown type', '{"t":"x","ts":1}'],
    ['bad id', '{"t":"d","ts":1,"u":[["<img>",0,{}]]}'],
    ['NaN-like value', '{"t":"d","ts":1,"u":[["a",0,{"0":"12"}]]}'],
    ['unknown metric index', '{"t":"d","ts":1,"u":[["a",0,{"99":1}]]}'],
    ['bad status', '{"t":"d","ts":1,"u":[["a",0,{"s":"pwned"}]]}'],
    ['short update', '{"t":"d","ts":1,"u":[["a",0]]}'],
    ['too many machines', JSON.stringify({ t: 'd', ts: 1, u: Array.from({ length: 3 }, (_, i) => [`m${i}`, 0, {}]) })],
    ['labels not strings', '{"t":"d","ts":1,"u":[["a",0,{"l":{"x":1}}]]}'],
  ])('rejects %s', (_name, raw) => {
    expect(() => decodeFleetMessage(raw, 2)).toThrow(/invalid fleet message/);
  });
});
