// Off Linux the extra sources come from systeminformation (collector/si-extra-sources.ts): the mapping
// of the library's shapes to the report's fields, from recorded objects in test/fixtures/systeminformation
// (processes-linux.json is si.processes() recorded on a Linux machine, trimmed to 8 processes; the Docker
// and graphics files follow the library's 5.x typings: a Windows machine with an NVIDIA card and an
// Intel iGPU, an Apple M2 Mac); the choice of implementation by platform (injected); and the default
// path with the real library on this machine.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCollectorConfig } from '../../collector/config.ts';
import { createExtraSources, extraSourcesKind } from '../../collector/extra-sources.ts';
import { createJsonLogger } from '../../collector/log.ts';
import { containersFromSi, gpusFromSi, topProcessesFromSi, type SiContainer, type SiContainerStats, type SiContainerTotals, type SiGraphicsController, type SiProcess } from '../../collector/si-extra-parsers.ts';
import { SI_CONTAINER_REFRESH_MS, type SiExtraApi } from '../../collector/si-extra-sources.ts';
import { FIXTURES } from '../support/fake-executables.ts';

const recorded = <T>(name: string): T => JSON.parse(readFileSync(path.join(FIXTURES, 'systeminformation', name), 'utf8')) as T;
const containers = recorded<SiContainer[]>('docker-containers.json');
const stats1 = recorded<SiContainerStats[]>('docker-container-stats-1.json');
const stats2 = recorded<SiContainerStats[]>('docker-container-stats-2.json');
const processes = recorded<{ list: SiProcess[] }>('processes-linux.json');
const windowsGraphics = recorded<{ controllers: SiGraphicsController[] }>('graphics-windows.json');
const macGraphics = recorded<{ controllers: SiGraphicsController[] }>('graphics-macos.json');

function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createJsonLogger({ name: 'test', level: 'debug', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

describe('mapping systeminformation shapes to the report', () => {
  it('containers: identity, health from the status text, usage of the running ones, I/O rates from totals', () => {
    const previous = new Map<string, SiContainerTotals>();
    const first = containersFromSi(containers, stats1, previous, 1_000);
    expect(first.map((c) => [c.name, c.state, c.health, c.restartCount])).toEqual([
      ['web', 'running', 'healthy', 0],
      ['db', 'running', 'unhealthy', 2],
      ['migrate', 'exited', '', 0],
    ]);
    // A rate needs two readings: the first sample has none.
    expect(first.every((c) => c.netRecvBytesPerSec === 0 && c.blockWriteBytesPerSec === 0)).toBe(true);
    expect(first[0]).toMatchObject({ id: containers[0].id, image: 'nginx:1.27', cpuPercent: 1.3, memoryBytes: 12_582_912, memoryLimitBytes: 536_870_912, memoryPercent: 2.3 });
    // No limit (0): no percentage of a limit; a stopped container uses nothing.
    expect(first[1]).toMatchObject({ memoryBytes: 268_435_456, memoryLimitBytes: 0, memoryPercent: 0, cpuPercent: 12.5 });
    expect(first[2]).toMatchObject({ cpuPercent: 0, memoryBytes: 0, memoryLimitBytes: 0 });

    const second = containersFromSi(containers, stats2, previous, 11_000);
    expect(second[0]).toMatchObject({ netRecvBytesPerSec: 10_000, netSentBytesPerSec: 20_000, blockReadBytesPerSec: 0, blockWriteBytesPerSec: 10_000, cpuPercent: 2.5 });
    expect(second[1]).toMatchObject({ netRecvBytesPerSec: 50_000, netSentBytesPerSec: 10_000, blockReadBytesPerSec: 100_000, blockWriteBytesPerSec: 200_000 });
    expect([...previous.keys()].sort()).toEqual([containers[0].id, containers[1].id].sort());
    // A container gone from the list is forgotten.
    containersFromSi(containers.slice(0, 1), stats2.slice(0, 1), previous, 21_000);
    expect([...previous.keys()]).toEqual([containers[0].id]);
  });

  it('top processes: the top N by CPU and by memory, RSS from KiB, states as one-letter codes', () => {
    const top = topProcessesFromSi(processes.list, 2);
    const byCpu = [...processes.list].sort((a, b) => b.cpu - a.cpu).slice(0, 2).map((p) => p.pid);
    const byMem = [...processes.list].sort((a, b) => b.memRss - a.memRss).slice(0, 2).map((p) => p.pid);
    expect(new Set(top.map((p) => p.pid))).toEqual(new Set([...byCpu, ...byMem]));
    // Ordered by CPU.
    expect(top.map((p) => p.cpuPercent)).toEqual([...top.map((p) => p.cpuPercent)].sort((a, b) => b - a));
    const ps = processes.list.find((p) => p.pid === top[0].pid)!;
    expect(top[0]).toEqual({ pid: ps.pid, name: ps.name, user: ps.user, cpuPercent: ps.cpu, rssBytes: ps.memRss * 1024, state: 'R' });
    expect(topProcessesFromSi(processes.list, 10).map((p) => p.state).every((s) => /^[RSDTZI]$/.test(s))).toBe(true);
    expect(topProcessesFromSi(processes.list, 0)).toEqual([]);
    // Names from the library are text like any other: control characters replaced.
    expect(topProcessesFromSi([{ pid: 7, name: 'evil\u0007name', user: 'u', cpu: 1, memRss: 1, state: 'sleeping' }], 1)[0]).toMatchObject({ name: 'evil?name', state: 'S' });
  });

  it('GPUs: those that report a utilisation (an NVIDIA card on Windows), memory from MiB; none on an Apple M2', () => {
    expect(gpusFromSi(windowsGraphics.controllers)).toEqual([
      { vendor: 'nvidia', index: 0, name: 'NVIDIA GeForce RTX 3060', utilizationPercent: 17, memoryUsedBytes: 1843 * 2 ** 20, memoryTotalBytes: 12288 * 2 ** 20, temperatureCelsius: 48, hasTemperature: true, powerWatts: 27.43 },
    ]);
    expect(gpusFromSi(macGraphics.controllers)).toEqual([]);
    expect(gpusFromSi([{ vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]', model: 'Radeon RX 7600', utilizationGpu: 3, memoryTotal: 8192, memoryUsed: 512 }])[0]).toMatchObject({ vendor: 'amd', hasTemperature: false, temperatureCelsius: 0 });
  });
});

/** The systeminformation calls answering from the recordings; container stats move on at each call. */
function recordedSi(options: { docker: boolean }) {
  const calls: string[] = [];
  let statsCalls = 0;
  const api: SiExtraApi = {
    dockerInfo: async () => (calls.push('dockerInfo'), options.docker ? { id: 'ABCD:EFGH', serverVersion: '27.3.1', containers: 3 } : { id: '' }),
    dockerContainers: async () => (calls.push('dockerContainers'), containers),
    dockerContainerStats: async (ids) => (calls.push(`dockerContainerStats ${ids}`), statsCalls++ === 0 ? stats1 : stats2),
    processes: async () => (calls.push('processes'), processes),
    graphics: async () => (calls.push('graphics'), windowsGraphics),
  };
  return { api, calls };
}

describe('the implementation chosen by platform', () => {
  const config = parseCollectorConfig(['--interval', '1'], { TOP_PROCESSES: '3', TOP_PROCESSES_INTERVAL: '5' }, { hostname: 'box' });

  it('Linux reads /proc, /sys and the engine API; every other platform systeminformation', () => {
    expect(extraSourcesKind('linux')).toBe('linux');
    for (const p of ['darwin', 'win32', 'freebsd', 'openbsd', 'sunos', 'aix'] as const) expect(extraSourcesKind(p)).toBe('systeminformation');
  });

  for (const platform of ['darwin', 'win32'] as const) {
    it(`on ${platform}: containers, top processes and GPUs from systeminformation, each logged once; disk health and services said to be Linux only`, async () => {
      const { api, calls } = recordedSi({ docker: true });
      const { lines, log } = captureLog();
      const sources = createExtraSources(config, { log, platform, loadSi: async () => api });
      await sources.start();
      expect(sources.active).toEqual(['containers', 'topProcesses', 'gpus']);
      const messages = lines.map((l) => l.msg);
      expect(messages).toContain('containers: docker 27.3.1 (systeminformation)');
      expect(messages).toContain('top processes: 3 by CPU and by memory every 5 s (systeminformation)');
      expect(messages).toContain('GPUs: nvidia NVIDIA GeForce RTX 3060 (systeminformation)');
      expect(messages).toContain('disk health and services are read on Linux only');
      // Only the running containers' stats are asked for, in one call.
      expect(calls).toContain(`dockerContainerStats ${containers[0].id},${containers[1].id}`);
      const sample = await sources.sample();
      expect(sample.containers?.map((c) => c.name)).toEqual(['web', 'db', 'migrate']);
      expect(sample.topProcesses?.length).toBeGreaterThan(0);
      expect(sample.gpus).toEqual(gpusFromSi(windowsGraphics.controllers));
      expect(sample.diskHealth).toBeUndefined();
      expect(sample.services).toBeUndefined();
      await sources.close();
    });
  }

  it('the slow reads run in the background at their cadence: a sample never waits; top processes are sent every TOP_PROCESSES_INTERVAL', async () => {
    const { api, calls } = recordedSi({ docker: true });
    let clock = 1_000_000;
    const { createSiExtraSources } = await import('../../collector/si-extra-sources.ts');
    const sources = createSiExtraSources(config, { log: captureLog().log, loadSi: async () => api, now: () => clock });
    await sources.start();
    const count = (name: string) => calls.filter((c) => c.startsWith(name)).length;
    expect(count('dockerContainers')).toBe(1);
    const first = await sources.sample();
    expect(first.topProcesses).toBeDefined();
    clock += 1000;
    const second = await sources.sample();
    expect(second.topProcesses).toBeUndefined(); // not due for 5 s
    expect(second.containers).toEqual(first.containers); // the latest, no new engine call
    expect(count('dockerContainers')).toBe(1);
    clock += SI_CONTAINER_REFRESH_MS;
    const third = await sources.sample(); // starts a refresh, answers with what it has
    expect(third.containers).toEqual(first.containers);
    expect(third.topProcesses).toBeDefined();
    await sources.settled();
    expect(count('dockerContainers')).toBe(2);
    const fourth = await sources.sample();
    expect(fourth.containers![0].netRecvBytesPerSec).toBeGreaterThan(0); // rates over the 11 s between the two stats
    await sources.close();
  });

  it('no engine, no GPU with a utilisation: those sources stay off and silent', async () => {
    const { api } = recordedSi({ docker: false });
    api.graphics = async () => macGraphics;
    const { lines, log } = captureLog();
    const sources = createExtraSources(parseCollectorConfig([], { TOP_PROCESSES: '0', SMART_INTERVAL: '0' }, { hostname: 'box' }), { log, platform: 'darwin', loadSi: async () => api });
    await sources.start();
    expect(sources.active).toEqual([]);
    expect(lines).toEqual([]);
    expect(await sources.sample()).toEqual({});
  });

  it('on Linux systeminformation is never loaded', async () => {
    let loaded = 0;
    const sources = createExtraSources(parseCollectorConfig([], { TOP_PROCESSES: '0', SMART_INTERVAL: '0', DOCKER_HOST: 'unix:///nonexistent/docker.sock' }, { hostname: 'box' }), {
      log: captureLog().log,
      platform: 'linux',
      loadSi: async () => (loaded++, recordedSi({ docker: true }).api),
    });
    await sources.start();
    await sources.close();
    expect(loaded).toBe(0);
  });

  it('the default path with the real library (on this machine): top processes with the report fields', async () => {
    const sources = createExtraSources(parseCollectorConfig([], { TOP_PROCESSES: '5', SMART_INTERVAL: '0' }, { hostname: 'box' }), { log: captureLog().log, platform: 'freebsd' });
    await sources.start();
    expect(sources.active).toContain('topProcesses');
    const sample = await sources.sample();
    expect(sample.topProcesses!.length).toBeGreaterThan(0);
    for (const p of sample.topProcesses!) {
      expect(p.pid).toBeGreaterThan(0);
      expect(p.name.length).toBeGreaterThan(0);
      expect(p.rssBytes % 1024).toBe(0);
      expect(p.state).toMatch(/^[A-Z]?$/);
    }
    await sources.close();
  }, 30_000);
});
