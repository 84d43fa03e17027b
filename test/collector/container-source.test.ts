// The container source against a fake Docker Engine API on a unix socket and fake /proc and /sys
// trees: detection (Docker, Podman, nothing), names, images, states, health and restarts from the
// API; CPU, memory and I/O rates from cgroup v2 files; the one-shot stats fallback where a container
// has no readable cgroup; the list refreshed at its slow cadence, never once per sample.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainerSource, detectContainerSource, LIST_REFRESH_MS } from '../../collector/container-source.ts';
import { createDockerApi } from '../../collector/docker-api.ts';
import { healthFromStatus, parseIoStat, parseMemoryMax, memoryInUse, parseFlatKeyed } from '../../collector/container-parsers.ts';
import { recordedDockerAnswers, startFakeDockerEngine, type FakeDockerEngine } from '../support/fake-docker-engine.ts';
import { netDevText, writeCgroup, writeProcess } from '../support/fake-host-tree.ts';
import { tempDir } from '../support/servers.ts';

const WEB = '3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a';
const WEB_CGROUP = `/system.slice/docker-${WEB}.scope`;
const GiB = 1024 ** 3;

describe('container parsers', () => {
  it.each([
    ['Up 3 hours (healthy)', 'healthy'],
    ['Up 5 minutes (unhealthy)', 'unhealthy'],
    ['Up 2 seconds (health: starting)', 'starting'],
    ['Exited (1) 2 hours ago', ''],
    [undefined, ''],
  ])('health of %o is %o', (status, health) => expect(healthFromStatus(status)).toBe(health));

  it('io.stat sums devices; memory.max "max" is no limit; in use excludes inactive file pages', () => {
    expect(parseIoStat('8:0 rbytes=100 wbytes=20 rios=1 wios=1\n259:0 rbytes=5 wbytes=1\n')).toEqual({ readBytes: 105, writeBytes: 21 });
    expect(parseMemoryMax('max\n')).toBeNull();
    expect(parseMemoryMax('268435456\n')).toBe(268435456);
    expect(memoryInUse(1000, parseFlatKeyed('inactive_file 300\n'))).toBe(700);
    expect(memoryInUse(100, parseFlatKeyed('inactive_file 300\n'))).toBe(100);
  });
});

describe.runIf(process.platform === 'linux')('container source', () => {
  const dir = tempDir('containers');
  const proc = path.join(dir.path, 'proc');
  const sys = path.join(dir.path, 'sys');
  const socketPath = path.join(dir.path, 'docker.sock');
  let engine: FakeDockerEngine;
  let clock = 1_000_000;

  const webCounters = (usageUsec: number, rx: number, tx: number, rbytes: number, wbytes: number) => {
    writeCgroup(sys, WEB_CGROUP, { usageUsec, memoryCurrent: 150 * 1024 ** 2, inactiveFile: 50 * 1024 ** 2, memoryMax: 268435456, rbytes, wbytes });
    writeProcess(proc, { pid: 4242, comm: 'nginx', utime: 10, stime: 5, rssPages: 100, cgroup: WEB_CGROUP, netDev: netDevText([{ name: 'lo', rx: 999_999, tx: 999_999 }, { name: 'eth0', rx, tx }]) });
  };

  beforeAll(async () => {
    webCounters(5_000_000, 1_000_000, 200_000, 10_000_000, 1_000_000);
    // db-1 (pid 5151) has no cgroup the collector can read: its numbers come from the one-shot stats.
    writeProcess(proc, { pid: 5151, comm: 'postgres', utime: 1, stime: 1, rssPages: 10 });
    engine = await startFakeDockerEngine(socketPath);
  });
  afterAll(async () => {
    await engine.close();
    dir.remove();
  });

  it('finds the engine on the first socket that answers, and nothing where none does', async () => {
    const options = { procDir: proc, sysDir: sys, machineMemoryBytes: 8 * GiB };
    expect(await detectContainerSource([path.join(dir.path, 'missing.sock'), path.join(proc, '4242/stat'), socketPath], options)).toMatchObject({ engine: 'docker', socketPath });
    expect(await detectContainerSource([path.join(dir.path, 'missing.sock')], options)).toBeNull();
    const podmanSocket = path.join(dir.path, 'podman.sock');
    const podman = await startFakeDockerEngine(podmanSocket, recordedDockerAnswers({ podman: true }));
    try {
      expect((await detectContainerSource([podmanSocket], options))?.engine).toBe('podman');
    } finally {
      await podman.close();
    }
  });

  it('reports every container with its rates from cgroup files, the list refreshed at a slow cadence', async () => {
    engine.requests.length = 0;
    const source = createContainerSource(createDockerApi(socketPath), 'docker', { procDir: proc, sysDir: sys, machineMemoryBytes: 8 * GiB, now: () => clock });
    const first = await source.sample();
    expect(first.map((c) => [c.name, c.image, c.state, c.health, c.restartCount])).toEqual([
      ['web-1', 'nginx:1.27-alpine', 'running', 'healthy', 2],
      ['db-1', 'postgres:16', 'running', 'unhealthy', 0],
      ['migrate-1', 'shop/migrate:latest', 'exited', '', 0],
    ]);
    expect(first[0].id).toBe(WEB.slice(0, 12));
    expect(first[0].cpuPercent).toBe(0); // a rate needs two readings

    clock += 2000;
    webCounters(5_000_000 + 1_500_000, 1_000_000 + 400_000, 200_000 + 100_000, 10_000_000 + 2_000_000, 1_000_000 + 600_000);
    const second = await source.sample();
    const web = second.find((c) => c.name === 'web-1')!;
    expect(web.cpuPercent).toBeCloseTo(75); // 1.5 s of CPU in 2 s
    expect(web.memoryBytes).toBe(100 * 1024 ** 2); // 150 MiB used minus 50 MiB inactive file
    expect(web.memoryLimitBytes).toBe(268435456);
    expect(web.memoryPercent).toBeCloseTo(100 / 256 * 100);
    expect(web.netRecvBytesPerSec).toBe(200_000); // eth0 only, lo left out
    expect(web.netSentBytesPerSec).toBe(50_000);
    expect(web.blockReadBytesPerSec).toBe(1_000_000);
    expect(web.blockWriteBytesPerSec).toBe(300_000);
    const db = second.find((c) => c.name === 'db-1')!;
    expect(db.memoryBytes).toBe(125829120 - 20971520); // from the one-shot stats
    expect(db.memoryLimitBytes).toBe(8 * GiB);
    const exited = second.find((c) => c.name === 'migrate-1')!;
    expect([exited.cpuPercent, exited.memoryBytes]).toEqual([0, 0]);

    // One list and one inspect per container for the first sample; afterwards only db-1's stats.
    const lists = () => engine.requests.filter((r) => r.startsWith('/containers/json')).length;
    expect(lists()).toBe(1);
    expect(engine.requests.filter((r) => /^\/containers\/\w+\/json/.test(r))).toHaveLength(3);
    expect(engine.requests.filter((r) => r.includes('/stats')).every((r) => r.includes('one-shot=true') && r.includes(WEB) === false)).toBe(true);

    // A container stopped in the engine shows as exited after the next list refresh.
    const inspect = engine.answers.get(`/containers/${WEB}/json`) as { State: { Status: string; Pid: number } };
    const list = engine.answers.get('/containers/json') as Array<{ Id: string; State: string; Status: string }>;
    inspect.State = { ...inspect.State, Status: 'exited', Pid: 0 };
    list[0].State = 'exited';
    list[0].Status = 'Exited (0) 1 second ago';
    clock += LIST_REFRESH_MS;
    await source.sample(); // starts the refresh beside the sample
    await new Promise((r) => setTimeout(r, 100));
    const after = await source.sample();
    expect(lists()).toBe(2);
    expect(after.find((c) => c.name === 'web-1')).toMatchObject({ state: 'exited', cpuPercent: 0, memoryBytes: 0 });
  });
});
