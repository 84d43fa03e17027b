// GPUs, disk health and services against fake `nvidia-smi`, `smartctl` and `systemctl` executables on
// PATH printing recorded real output, and a fake amdgpu sysfs tree: parsers, detection, cadence
// (one long-running nvidia-smi; smartctl per disk every SMART_INTERVAL; one systemctl batch per
// SERVICE_INTERVAL) and absence (nothing on PATH: every source off and silent).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amdGpuFromSysfs, parseNvidiaSmiLine } from '../../collector/gpu-parsers.ts';
import { detectGpuSource } from '../../collector/gpu-source.ts';
import { createJsonLogger } from '../../collector/log.ts';
import { detectServiceSource } from '../../collector/service-source.ts';
import { parseSmartAll, parseSmartScan } from '../../collector/smart-parsers.ts';
import { detectSmartSource } from '../../collector/smart-source.ts';
import { parseListUnits, parseShowUnits } from '../../collector/systemd-parsers.ts';
import { FIXTURES, writeFakeExecutables } from '../support/fake-executables.ts';
import { writeTree } from '../support/fake-host-tree.ts';
import { tempDir } from '../support/servers.ts';
import { waitFor } from '../support/servers.ts';

const fixture = (p: string) => readFileSync(path.join(FIXTURES, p), 'utf8');

describe('parsers of recorded output', () => {
  it('nvidia-smi CSV, with [N/A] fields', () => {
    expect(parseNvidiaSmiLine('0, NVIDIA GeForce RTX 3060, 35, 1024, 12288, 61, 80.52')).toEqual({
      vendor: 'nvidia', index: 0, name: 'NVIDIA GeForce RTX 3060', utilizationPercent: 35, memoryUsedBytes: 1024 * 2 ** 20, memoryTotalBytes: 12288 * 2 ** 20, temperatureCelsius: 61, hasTemperature: true, powerWatts: 80.52,
    });
    expect(parseNvidiaSmiLine('1, Tesla T4, [N/A], 0, 15360, [N/A], [N/A]')).toMatchObject({ utilizationPercent: 0, hasTemperature: false, powerWatts: 0 });
    expect(parseNvidiaSmiLine('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.')).toBeNull();
  });

  it('smartctl: ATA attributes, NVMe health log, a permission error', () => {
    expect(parseSmartScan(fixture('smartctl/scan.json'))).toEqual([{ name: '/dev/sda', type: 'sat' }, { name: '/dev/nvme0', type: 'nvme' }]);
    expect(parseSmartAll(fixture('smartctl/sda.json'), '/dev/sda', 1000)).toEqual({
      device: '/dev/sda', model: 'WDC WD40EFRX-68N32N0', passed: true, temperatureCelsius: 35, powerOnHours: 34567, reallocatedSectors: 8, pendingSectors: 2, percentageUsed: 0, checkedAtMs: 1000n,
    });
    expect(parseSmartAll(fixture('smartctl/nvme0.json'), '/dev/nvme0', 1000)).toMatchObject({ model: 'Samsung SSD 980 PRO 1TB', passed: true, temperatureCelsius: 41, powerOnHours: 8123, percentageUsed: 3 });
    expect(parseSmartAll(fixture('smartctl/permission-denied.json'), '/dev/sda', 1000)).toEqual({ problem: 'Smartctl open device: /dev/sda [SAT] failed: Permission denied' });
  });

  it('systemctl list-units and show', () => {
    expect(parseListUnits(fixture('systemctl/list-units.txt'))).toEqual(['nginx.service', 'postgresql.service', 'postgresql@16-main.service']);
    expect(parseListUnits('● postgresql@16-main.service loaded failed failed PostgreSQL Cluster 16-main\n')).toEqual(['postgresql@16-main.service']);
    expect(parseShowUnits(fixture('systemctl/show.txt'))).toEqual([
      { name: 'nginx.service', activeState: 'active', subState: 'running', restarts: 1, memoryBytes: 12918784 },
      { name: 'postgresql.service', activeState: 'active', subState: 'exited', restarts: 0, memoryBytes: 0 },
      { name: 'postgresql@16-main.service', activeState: 'failed', subState: 'failed', restarts: 3, memoryBytes: 0 },
    ]);
  });

  it('amdgpu sysfs values', () => {
    expect(amdGpuFromSysfs(0, 'AMD Radeon RX 6800', { busyPercent: '42\n', vramUsed: '2147483648\n', vramTotal: '17163091968\n', tempMillidegrees: '55000\n', powerMicrowatts: '95000000\n' })).toEqual({
      vendor: 'amd', index: 0, name: 'AMD Radeon RX 6800', utilizationPercent: 42, memoryUsedBytes: 2147483648, memoryTotalBytes: 17163091968, temperatureCelsius: 55, hasTemperature: true, powerWatts: 95,
    });
  });
});

describe.runIf(process.platform === 'linux')('sources with fake executables on PATH', () => {
  const dir = tempDir('slow-sources');
  const logs: string[] = [];
  const log = createJsonLogger({ level: 'info', name: 'test', write: (l) => void logs.push(l) });
  const originalPath = process.env.PATH;
  let fake: ReturnType<typeof writeFakeExecutables>;

  beforeAll(() => {
    fake = writeFakeExecutables(path.join(dir.path, 'bin'));
    process.env.PATH = `${fake.bin}:${originalPath}`;
  });
  afterAll(() => {
    process.env.PATH = originalPath;
    dir.remove();
  });

  it('GPUs: one long-running nvidia-smi, lines parsed as they come, plus an AMD card from sysfs', async () => {
    const sys = path.join(dir.path, 'sys');
    writeTree(sys, {
      'class/drm/card0/device/vendor': '0x1002\n',
      'class/drm/card0/device/product_name': 'AMD Radeon RX 6800\n',
      'class/drm/card0/device/gpu_busy_percent': '42\n',
      'class/drm/card0/device/mem_info_vram_used': '2147483648\n',
      'class/drm/card0/device/mem_info_vram_total': '17163091968\n',
      'class/drm/card0/device/hwmon/hwmon3/temp1_input': '55000\n',
      'class/drm/card0/device/hwmon/hwmon3/power1_average': '95000000\n',
      'class/drm/card1/device/vendor': '0x8086\n', // an Intel card: not read
      'class/drm/card0-DP-1/status': 'connected\n',
    });
    const gpus = await detectGpuSource({ sysDir: sys, intervalMs: 1000, log });
    try {
      expect(gpus!.kinds).toEqual([expect.stringMatching(/^nvidia \([12]\)$/), 'amd (1)']);
      const sample = await waitFor('both NVIDIA GPUs', () => {
        const s = gpus!.sample();
        return s.filter((g) => g.vendor === 'nvidia').length === 2 ? s : undefined;
      }, 5000, 50);
      expect(sample.map((g) => [g.vendor, g.index, g.name, g.utilizationPercent, g.temperatureCelsius])).toEqual([
        ['nvidia', 0, 'NVIDIA GeForce RTX 3060', 35, 61],
        ['nvidia', 1, 'NVIDIA A100-SXM4-40GB', 97, 84],
        ['amd', 0, 'AMD Radeon RX 6800', 42, 55],
      ]);
      await new Promise((r) => setTimeout(r, 1500));
      gpus!.sample();
      expect(fake.calls().filter((c) => c.startsWith('nvidia-smi'))).toEqual([expect.stringContaining('--format=csv,noheader,nounits -l 1')]);
    } finally {
      gpus?.close();
    }
  });

  it('disk health: smartctl per disk in the background, every SMART_INTERVAL', async () => {
    let clock = 0;
    const smart = await detectSmartSource({ intervalMs: 3600_000, log, now: () => clock });
    expect(smart!.disks.map((d) => d.name)).toEqual(['/dev/sda', '/dev/nvme0']);
    const disks = await waitFor('both disks read', () => (smart!.sample().length === 2 ? smart!.sample() : undefined), 5000, 20);
    expect(disks.map((d) => [d.device, d.passed, d.reallocatedSectors, d.percentageUsed])).toEqual([['/dev/sda', true, 8, 0], ['/dev/nvme0', true, 0, 3]]);
    const runs = () => fake.calls().filter((c) => c.startsWith('smartctl -j -a')).length;
    expect(runs()).toBe(2);
    clock = 3599_000;
    smart!.sample();
    await new Promise((r) => setTimeout(r, 200));
    expect(runs()).toBe(2); // not due yet
    clock = 3600_000;
    smart!.sample();
    await waitFor('the second round', () => runs() === 4 || undefined, 5000, 20);
    expect(fake.calls()).toContain('smartctl -j -a -n standby -d sat /dev/sda');
  });

  it('services: one list-units and one show per SERVICE_INTERVAL, the latest states in between', async () => {
    let clock = 0;
    const before = fake.calls().filter((c) => c.startsWith('systemctl')).length;
    const found = await detectServiceSource({ patterns: ['nginx*', 'postgres*'], intervalMs: 30_000, log, now: () => clock });
    if (!('source' in found)) throw new Error(found.problem);
    expect(found.count).toBe(3);
    expect(found.source.sample()!.map((s) => [s.name, s.activeState])).toEqual([['nginx.service', 'active'], ['postgresql.service', 'active'], ['postgresql@16-main.service', 'failed']]);
    clock = 10_000;
    found.source.sample();
    const calls = fake.calls().filter((c) => c.startsWith('systemctl')).slice(before);
    expect(calls).toEqual(['systemctl list-units --all --plain --no-legend --no-pager -- nginx* postgres*', 'systemctl show --property=Id,ActiveState,SubState,NRestarts,MemoryCurrent --no-pager -- nginx.service postgresql.service postgresql@16-main.service']);
  });
});

describe.runIf(process.platform === 'linux')('sources without the executables', () => {
  const originalPath = process.env.PATH;
  const dir = tempDir('no-sources');
  afterAll(() => {
    process.env.PATH = originalPath;
    dir.remove();
  });

  it('are off, and the GPU and disk sources say nothing', async () => {
    process.env.PATH = path.join(dir.path, 'empty-bin');
    const logs: string[] = [];
    const log = createJsonLogger({ level: 'trace', name: 'test', write: (l) => void logs.push(l) });
    expect(await detectGpuSource({ sysDir: path.join(dir.path, 'sys'), intervalMs: 1000, log })).toBeNull();
    expect(await detectSmartSource({ intervalMs: 3600_000, log })).toBeNull();
    expect(await detectServiceSource({ patterns: ['nginx*'], intervalMs: 30_000, log })).toMatchObject({ problem: expect.stringContaining('systemctl') });
    expect(logs).toEqual([]);
  });
});
