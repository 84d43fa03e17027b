import { create } from '@bufbuild/protobuf';
import { describe, expect, test } from 'vitest';
import { HelloSchema } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { validateHello, validateReport } from '../../hub/validate-report.ts';

const now = 1_800_000_000_000;

function report(patch: (r: Report) => void = () => {}): Report {
  const r = create(ReportSchema, {
    machineId: 'web-01',
    seq: 5n,
    timestampMs: BigInt(now - 1000),
    hostname: 'web-01',
    cpu: { totalPercent: 12, perCorePercent: [10, 14], userPercent: 8, systemPercent: 4 },
    memory: { totalBytes: 8e9, usedBytes: 4e9, availableBytes: 4e9, usedPercent: 50 },
    load: { load1m: 0.5, load5m: 0.4, load15m: 0.3 },
    filesystems: [{ mount: '/', device: '/dev/vda', fsType: 'ext4', sizeBytes: 1e11, usedBytes: 5e10, usedPercent: 50 }],
    network: [{ name: 'eth0', recvBytesPerSec: 100, sentBytesPerSec: 50 }],
  });
  patch(r);
  return r;
}

describe('validateReport', () => {
  test('a normal report passes', () => {
    expect(validateReport(report(), now)).toBeNull();
  });

  test.each<[string, (r: Report) => void, RegExp]>([
    ['bad machine id', (r) => (r.machineId = '../etc/passwd'), /machine_id/],
    ['empty machine id', (r) => (r.machineId = ''), /machine_id/],
    ['seq 0', (r) => (r.seq = 0n), /seq/],
    ['seq beyond 2^53', (r) => (r.seq = 2n ** 60n), /seq/],
    ['timestamp far in the past', (r) => (r.timestampMs = BigInt(now - 30 * 86400_000)), /past/],
    ['timestamp in the future', (r) => (r.timestampMs = BigInt(now + 3600_000)), /future/],
    ['NaN cpu', (r) => (r.cpu!.totalPercent = NaN), /cpu/],
    ['cpu above 100', (r) => (r.cpu!.totalPercent = 250), /cpu/],
    ['negative memory', (r) => (r.memory!.usedBytes = -1), /memory/],
    ['infinite load', (r) => (r.load!.load1m = Infinity), /load/],
    ['negative network rate', (r) => (r.network[0].recvBytesPerSec = -5), /eth0/],
    ['too many labels', (r) => (r.labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))), /labels/],
    ['long label', (r) => (r.labels = { k: 'x'.repeat(300) }), /label/],
    ['long hostname', (r) => (r.hostname = 'h'.repeat(300)), /names/],
    ['too many filesystems', (r) => (r.filesystems = Array.from({ length: 300 }, () => r.filesystems[0])), /filesystems/],
    ['a newline in the hostname (forged log lines)', (r) => (r.hostname = 'web-01\nlevel=error fake'), /control characters/],
    ['an escape sequence in a label', (r) => (r.labels = { k: '\u001b[2J' }), /control characters/],
    ['NUL in the display name', (r) => (r.displayName = 'a\u0000b'), /control characters/],
    ['an interval beyond an hour', (r) => (r.intervalMs = 4_000_000_000), /interval_ms/],
    ['a core count beyond the cap', (r) => (r.cpu!.coreCount = 100_000), /cores/],
    ['absurd temperature', (r) => (r.temperatures = [{ $typeName: 'sysmonstm.v1.Temperature', sensor: 'cpu', celsius: 5000 }]), /temperature/],
  ])('%s is refused', (_name, patch, reason) => {
    expect(validateReport(report(patch), now)).toMatch(reason);
  });
});

describe('validateHello', () => {
  test('accepts a normal hello and refuses a hostile id', () => {
    expect(validateHello(create(HelloSchema, { machineId: 'db-1', hostname: 'db', displayName: '<img src=x onerror=alert(1)>' }))).toBeNull();
    expect(validateHello(create(HelloSchema, { machineId: 'a b' }))).toMatch(/machine_id/);
    expect(validateHello(create(HelloSchema, { machineId: 'x'.repeat(129) }))).toMatch(/machine_id/);
    expect(validateHello(create(HelloSchema, { machineId: 'db-1', hostname: 'db\r\n' }))).toMatch(/control characters/);
    expect(validateHello(create(HelloSchema, { machineId: 'db-1', labels: { role: 'db\u0085' } }))).toMatch(/control characters/);
    // Unicode that is not a control character is fine.
    expect(validateHello(create(HelloSchema, { machineId: 'db-1', displayName: 'Datenbank — Köln 🐘', labels: { 'über': 'ja' } }))).toBeNull();
  });
});
