import { describe, expect, it } from 'vitest';
import { createFleetEncoder, type MachineView } from '../../proto/delta.ts';
import { createSnapshotAssembler, decodeRelayError, decodeViewControl, decodeViewerExtra, encodeRelayError, frameType, splitSnapshot } from '../../proto/view-frames.ts';

const machine = (i: number): MachineView => ({
  id: `m-${i}`,
  name: 'x'.repeat(200),
  host: '',
  status: 'healthy',
  labels: {},
  intervalMs: 1000,
  lastSeen: 1_000,
  values: { cpu_percent: i % 100 },
});

describe('snapshot parts', () => {
  it('splits a large snapshot into frames under the limit and assembles it back', () => {
    const text = createFleetEncoder().snapshot(Array.from({ length: 2_000 }, (_, i) => machine(i)), 5_000);
    const parts = splitSnapshot(JSON.parse(text), 64 * 1024);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(64 * 1024);
    const assembler = createSnapshotAssembler();
    const results = parts.map((p) => assembler.add(p));
    expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
    expect(results.at(-1)).toEqual(JSON.parse(text));
  });

  it('keeps a snapshot that fits whole', () => {
    const text = createFleetEncoder().snapshot([machine(1)], 5);
    expect(splitSnapshot(JSON.parse(text), 1_000_000)).toEqual([text]);
    expect(createSnapshotAssembler().add(text)).toEqual(JSON.parse(text));
  });

  it('refuses parts out of order and forgets what it had', () => {
    const parts = splitSnapshot(JSON.parse(createFleetEncoder().snapshot(Array.from({ length: 300 }, (_, i) => machine(i)), 5)), 20_000);
    const assembler = createSnapshotAssembler();
    assembler.add(parts[0]);
    expect(() => assembler.add(parts[2])).toThrow(/out of order/);
    expect(assembler.pending).toBe(false);
  });

  it('refuses a machine that appears in two parts', () => {
    const a = JSON.stringify({ t: 's', ts: 1, m: [{ k: 0, id: 'a', n: 'a', h: '', s: 'healthy', l: {}, i: 1000, seen: 1, v: {} }], p: [0, 2] });
    const b = JSON.stringify({ t: 's', ts: 1, m: [{ k: 0, id: 'a', n: 'a', h: '', s: 'healthy', l: {}, i: 1000, seen: 1, v: {} }], p: [1, 2] });
    const assembler = createSnapshotAssembler();
    expect(assembler.add(a)).toBeNull();
    expect(() => assembler.add(b)).toThrow(/twice/);
  });
});

describe('control and viewer frames', () => {
  it('routes by type cheaply', () => {
    expect(frameType('{"t":"c","slug":"a"}')).toBe('c');
    expect(frameType('{"t":"up","m":{}}')).toBe('up');
    expect(frameType('nope')).toBeNull();
  });

  it('validates config and revoke frames', () => {
    expect(decodeViewControl('{"t":"c","slug":"a","title":"A","access":"public","keyHash":null,"metrics":[0,1]}')).toMatchObject({ t: 'c', slug: 'a' });
    expect(() => decodeViewControl('{"t":"c","slug":"a","title":"A","access":"link","keyHash":null,"metrics":[]}')).toThrow(/keyHash/);
    expect(() => decodeViewControl('{"t":"c","slug":"A!","title":"A","access":"public","keyHash":null,"metrics":[]}')).toThrow(/slug/);
    expect(decodeViewControl('{"t":"x","slug":"a"}')).toEqual({ t: 'x', slug: 'a' });
  });

  it('validates hub status and uptime frames', () => {
    expect(decodeViewerExtra('{"t":"h","up":false,"heard":5,"now":9}')).toEqual({ t: 'h', up: false, heard: 5, now: 9 });
    expect(decodeViewerExtra('{"t":"up","slotMs":900000,"end":10,"m":{"k1":"AAE="}}')).toMatchObject({ t: 'up' });
    expect(() => decodeViewerExtra('{"t":"up","slotMs":900000,"end":10,"m":{"k1":"<script>"}}')).toThrow(/base64/);
  });
});

describe('relay error frame', () => {
  it('round-trips, resync only when asked', () => {
    expect(encodeRelayError({ error: 'bad frame' })).toBe('{"t":"e","error":"bad frame"}');
    expect(encodeRelayError({ error: 'lost', resync: false })).toBe('{"t":"e","error":"lost"}');
    expect(decodeRelayError(encodeRelayError({ error: 'lost', resync: true }))).toEqual({ t: 'e', error: 'lost', resync: true });
    expect(decodeRelayError('{"t":"e","error":"x","resync":"yes"}')).toEqual({ t: 'e', error: 'x' });
  });
  it('is null for what is not one', () => {
    expect(decodeRelayError('pong')).toBeNull();
    expect(decodeRelayError('{"t":"e"}')).toBeNull();
    expect(decodeRelayError('[1]')).toBeNull();
  });
});
