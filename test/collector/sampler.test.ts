// Both samplers on this real Linux machine: values must be sane, and the /proc and systeminformation
// paths must broadly agree on what does not change between two readings (memory total, core count).
import { describe, expect, it } from 'vitest';
import { createProcSampler } from '../../collector/proc-sampler.ts';
import type { MachineSample, Sampler } from '../../collector/sampler.ts';
import { createSiSampler } from '../../collector/si-sampler.ts';
import { cpus, totalmem } from 'node:os';

function expectSane(sample: MachineSample): void {
  const { cpu, memory } = sample;
  for (const v of [cpu.totalPercent, cpu.userPercent, cpu.systemPercent, cpu.iowaitPercent, cpu.stealPercent, ...cpu.perCorePercent]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(100);
  }
  expect(cpu.coreCount).toBe(cpus().length);
  expect(cpu.perCorePercent).toHaveLength(cpu.coreCount);
  expect(memory.totalBytes).toBe(totalmem());
  expect(memory.usedBytes).toBeGreaterThan(0);
  expect(memory.usedBytes).toBeLessThanOrEqual(memory.totalBytes);
  expect(memory.usedPercent).toBeGreaterThan(0);
  expect(memory.usedPercent).toBeLessThan(100);
  expect(sample.filesystems.length).toBeGreaterThanOrEqual(1);
  for (const fs of sample.filesystems) {
    expect(fs.sizeBytes).toBeGreaterThan(0);
    expect(fs.usedPercent).toBeGreaterThanOrEqual(0);
    expect(fs.usedPercent).toBeLessThanOrEqual(100);
  }
  const lo = sample.network.find((n) => n.name === 'lo');
  expect(lo, 'loopback interface present').toBeDefined();
  for (const n of sample.network) expect(n.recvBytesPerSec).toBeGreaterThanOrEqual(0);
  expect(sample.load.load1m).toBeGreaterThanOrEqual(0);
  expect(sample.processCount).toBeGreaterThan(1);
  expect(sample.uptimeSeconds).toBeGreaterThan(0);
}

async function twoSamples(sampler: Sampler): Promise<MachineSample> {
  await sampler.prime();
  await new Promise((r) => setTimeout(r, 300));
  await sampler.sample();
  await new Promise((r) => setTimeout(r, 300));
  return sampler.sample();
}

describe.runIf(process.platform === 'linux')('proc sampler on this machine', () => {
  it('produces sane values', async () => {
    const sample = await twoSamples(createProcSampler());
    expectSane(sample);
    expect(sample.filesystems.map((f) => f.mount)).toContain('/');
    expect(sample.filesystems.some((f) => ['tmpfs', 'proc', 'cgroup', 'sysfs'].includes(f.fsType))).toBe(false);
  });

  it('measures loopback traffic it causes itself as a rate', async () => {
    const sampler = createProcSampler();
    await sampler.prime();
    const net = await import('node:net');
    const server = net.createServer((socket) => socket.resume());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.on('connect', r));
    await new Promise<void>((r) => client.end(Buffer.alloc(4 * 1024 * 1024), r));
    await new Promise((r) => setTimeout(r, 100));
    const sample = await sampler.sample();
    server.close();
    const lo = sample.network.find((n) => n.name === 'lo')!;
    expect(lo.sentBytesPerSec).toBeGreaterThan(1024 * 1024); // >= 4 MiB in well under 4 s
  });

  it('reports busy CPU when a core is kept busy', async () => {
    const sampler = createProcSampler();
    await sampler.prime();
    const until = Date.now() + 400;
    while (Date.now() < until) Math.sqrt(Math.random());
    const sample = await sampler.sample();
    // One of N cores fully busy (the scheduler may move the thread between cores, so check the total).
    expect(sample.cpu.totalPercent).toBeGreaterThan((100 / sample.cpu.coreCount) * 0.7);
  });

  it('describes the machine', async () => {
    const info = await createProcSampler().describe();
    expect(info.kernel).toMatch(/\d+\.\d+/);
    expect(info.arch).toBe(process.arch);
    expect(info.os.length).toBeGreaterThan(0);
  });
});

describe('systeminformation sampler on this machine', () => {
  it('produces sane values that agree with the /proc sampler', async () => {
    const sample = await twoSamples(createSiSampler());
    expectSane(sample);
    if (process.platform === 'linux') {
      const proc = await twoSamples(createProcSampler());
      expect(sample.memory.totalBytes).toBe(proc.memory.totalBytes);
      expect(sample.cpu.coreCount).toBe(proc.cpu.coreCount);
      expect(Math.abs(sample.processCount - proc.processCount)).toBeLessThan(40);
    }
  });
});
