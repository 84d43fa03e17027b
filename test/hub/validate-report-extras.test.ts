// The hub's checks of containers, top processes, GPUs, disk health and services, through
// validateReport (so the one-line hook is covered too).
import { create } from '@bufbuild/protobuf';
import { describe, expect, test } from 'vitest';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { validateReport } from '../../hub/validate-report.ts';
import { EXTRA_LIMITS } from '../../hub/validate-report-extras.ts';

const now = 1_800_000_000_000;

function report(patch: (r: Report) => void = () => {}): Report {
  const r = create(ReportSchema, {
    machineId: 'web-01',
    seq: 5n,
    timestampMs: BigInt(now - 1000),
    hostname: 'web-01',
    containers: [{ id: '3f1c2a9b8d7e', name: 'web-1', image: 'nginx:1.27', state: 'running', health: 'healthy', restartCount: 2, cpuPercent: 150, memoryBytes: 1e8, memoryLimitBytes: 2.5e8, memoryPercent: 40, netRecvBytesPerSec: 10 }],
    topProcesses: [{ pid: 42, name: 'Web Content', user: 'alice', cpuPercent: 180, rssBytes: 5e8, state: 'R' }],
    gpus: [{ vendor: 'nvidia', index: 0, name: 'NVIDIA GeForce RTX 3060', utilizationPercent: 35, memoryUsedBytes: 1e9, memoryTotalBytes: 12e9, temperatureCelsius: 61, hasTemperature: true, powerWatts: 80 }],
    diskHealth: [{ device: '/dev/nvme0', model: 'Samsung SSD 980 PRO 1TB', passed: true, temperatureCelsius: 41, powerOnHours: 8000, percentageUsed: 3, checkedAtMs: BigInt(now - 60_000) }],
    services: [{ name: 'nginx.service', activeState: 'active', subState: 'running', restarts: 1, memoryBytes: 2e7 }],
  });
  patch(r);
  return r;
}

describe('validateReport: the extra sections', () => {
  test('a report with every section passes', () => {
    expect(validateReport(report(), now)).toBeNull();
  });

  test.each<[string, (r: Report) => void, RegExp]>([
    ['a newline in a container name', (r) => (r.containers[0].name = 'web\n{"level":60}'), /container .*name/],
    ['an escape in a container image', (r) => (r.containers[0].image = 'nginx\u001b[2J'), /container names/],
    ['a long image', (r) => (r.containers[0].image = 'x'.repeat(257)), /container names/],
    ['container memory above 100 %', (r) => (r.containers[0].memoryPercent = 180), /memory_percent/],
    ['negative container rate', (r) => (r.containers[0].blockWriteBytesPerSec = -1), /container web-1/],
    ['too many processes', (r) => (r.topProcesses = Array.from({ length: EXTRA_LIMITS.topProcesses + 1 }, (_, i) => ({ ...r.topProcesses[0], pid: i }))), /at most 200 top processes/],
    ['escape in a process name', (r) => (r.topProcesses[0].name = '\u001b[31mred'), /process names/],
    ['NaN process CPU', (r) => (r.topProcesses[0].cpuPercent = NaN), /process 42/],
    ['GPU utilisation 250 %', (r) => (r.gpus[0].utilizationPercent = 250), /GPU 0/],
    ['GPU temperature 5000', (r) => (r.gpus[0].temperatureCelsius = 5000), /GPU 0: temperature/],
    ['too many GPUs', (r) => (r.gpus = Array.from({ length: 65 }, () => r.gpus[0])), /at most 64 GPUs/],
    ['control character in a disk model', (r) => (r.diskHealth[0].model = 'a\u0000b'), /disk health names/],
    ['infinite power-on hours', (r) => (r.diskHealth[0].powerOnHours = Infinity), /health values/],
    ['a long service name', (r) => (r.services[0].name = 's'.repeat(257)), /service names/],
    ['a long service state', (r) => (r.services[0].activeState = 'a'.repeat(33)), /service names/],
    ['too many services', (r) => (r.services = Array.from({ length: 1001 }, () => r.services[0])), /at most 1000 services/],
  ])('%s is refused', (_, patch, message) => {
    expect(validateReport(report(patch), now)).toMatch(message);
  });
});
