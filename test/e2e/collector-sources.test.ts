// Containers and top processes end to end (and GPUs, disk health and services from fake `nvidia-smi`,
// `smartctl` and `systemctl` on PATH): `sysmonstm all` (hub + a real collector for this machine)
// with DOCKER_HOST pointing at a fake Docker Engine API on a unix socket made here, whose "web-1"
// container is a real child process (`sleep`) with a fake cgroup v2 directory under HOST_SYS. The
// collector finds the engine, reads the list from the API and the numbers from the cgroup files; the
// hub validates and stores the report; GET /api/machines/{id}/metrics answers `containers` and
// `top_processes`; the machine page in Chromium shows both tables (screenshot in test-output/screenshots).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../web/build.ts';
import { startFakeDockerEngine, type FakeDockerEngine } from '../support/fake-docker-engine.ts';
import { writeFakeExecutables } from '../support/fake-executables.ts';
import { writeCgroup } from '../support/fake-host-tree.ts';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';

const WEB = '3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a';
const hasChromium = existsSync(CHROMIUM_PATH);
const dir = tempDir('sources-e2e');
const sys = path.join(dir.path, 'sys');
let engine: FakeDockerEngine;
let hub: CliProcess;
let hubUrl: string;
let machineId: string;
let sleeper: ChildProcess;
let browser: Browser | undefined;
let usageUsec = 1_000_000;
let ticker: NodeJS.Timeout;

interface Detail {
  report: {
    containers?: Array<{ name: string; image?: string; state: string; health?: string; restart_count?: number; cpu_percent?: number; memory_bytes?: number; memory_limit_bytes?: number }>;
    top_processes?: Array<{ pid: number; name: string; user?: string; cpu_percent?: number; rss_bytes?: number; state?: string }>;
    gpus?: Array<{ vendor: string; name: string; temperature_celsius?: number }>;
    disk_health?: Array<{ device: string; passed?: boolean; reallocated_sectors?: number }>;
    services?: Array<{ name: string; active_state: string; restarts?: number }>;
  };
}

async function detail(): Promise<Detail | undefined> {
  const res = await fetch(`${hubUrl}/api/machines/${machineId}/metrics`);
  return res.ok ? ((await res.json()) as Detail) : undefined;
}

beforeAll(async () => {
  await ensureWebBuilt();
  // "web-1" runs as a real process: its /proc/<pid>/cgroup is real, its cgroup directory is ours.
  sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  const cgroupPath = /^0::(.*)$/m.exec(readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8'))![1];
  const writeCounters = () =>
    writeCgroup(sys, cgroupPath === '/' ? '' : cgroupPath, { usageUsec, memoryCurrent: 96 * 1024 ** 2, inactiveFile: 32 * 1024 ** 2, memoryMax: 268435456, rbytes: usageUsec * 10, wbytes: usageUsec });
  writeCounters();
  // Half a core busy: 0.25 s of CPU every 0.5 s.
  ticker = setInterval(() => {
    usageUsec += 250_000;
    writeCounters();
  }, 500);
  mkdirSync(path.join(sys, 'block'), { recursive: true });
  engine = await startFakeDockerEngine(path.join(dir.path, 'docker.sock'));
  (engine.answers.get(`/containers/${WEB}/json`) as { State: { Pid: number } }).State.Pid = sleeper.pid!;

  const fake = writeFakeExecutables(path.join(dir.path, 'bin'));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  hubUrl = `http://127.0.0.1:${httpPort}`;
  hub = runCli(['all'], {
    HTTP_PORT: String(httpPort),
    GRPC_PORT: String(grpcPort),
    DATA_DIR: path.join(dir.path, 'data'),
    COLLECTION_INTERVAL: '0.5',
    MACHINE_ID: 'sources-e2e',
    DOCKER_HOST: `unix://${engine.socketPath}`,
    HOST_SYS: sys,
    TOP_PROCESSES: '5',
    TOP_PROCESSES_INTERVAL: '1',
    SERVICE_PATTERNS: 'nginx*,postgres*',
    PATH: `${fake.bin}:${process.env.PATH}`,
    LOG_LEVEL: 'info',
  });
  machineId = 'sources-e2e';
  try {
    await waitFor('the machine at the hub', async () => (await detail())?.report.containers?.length, 100_000, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- hub output ---\n${hub.output()}`);
  }
  if (hasChromium) browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  clearInterval(ticker);
  await browser?.close();
  await hub?.stop();
  await engine?.close();
  sleeper?.kill();
  dir.remove();
});

describe('containers and top processes: collector → hub → REST → machine page', () => {
  it('the collector logs the engine it found, once', () => {
    const lines = hub.output().split('\n').filter((l) => l.includes('containers: docker at'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(engine.socketPath);
  });

  it('GET /api/machines/{id}/metrics has the containers, with numbers from the cgroup files', async () => {
    const d = await waitFor('a CPU rate for web-1', async () => {
      const r = await detail();
      return (r?.report.containers?.find((c) => c.name === 'web-1')?.cpu_percent ?? 0) > 0 ? r : undefined;
    }, 20_000, 250);
    const byName = new Map(d.report.containers!.map((c) => [c.name, c]));
    expect([...byName.keys()].sort()).toEqual(['db-1', 'migrate-1', 'web-1']);
    const web = byName.get('web-1')!;
    expect(web).toMatchObject({ image: 'nginx:1.27-alpine', state: 'running', health: 'healthy', restart_count: 2, memory_bytes: 64 * 1024 ** 2, memory_limit_bytes: 268435456 });
    expect(web.cpu_percent).toBeGreaterThan(20);
    expect(web.cpu_percent).toBeLessThan(90);
    expect(byName.get('db-1')).toMatchObject({ state: 'running', health: 'unhealthy' });
    expect(byName.get('migrate-1')!.state).toBe('exited');
    // The list came from the engine at its slow cadence, not once per report.
    expect(engine.requests.filter((r) => r.startsWith('/containers/json')).length).toBeLessThanOrEqual(3);
  });

  it('GET /api/machines/{id}/metrics has the top processes, in every answer between their samples', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const top = (await detail())!.report.top_processes ?? [];
      seen.push(top.length);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen.every((n) => n > 0 && n <= 10)).toBe(true);
    const top = (await detail())!.report.top_processes!;
    // The hub's own process (node) is among the biggest by memory on this machine, with its user.
    const hubProcess = top.find((p) => p.pid === hub.child.pid);
    expect(hubProcess).toBeDefined();
    expect(hubProcess!.rss_bytes).toBeGreaterThan(10 * 1024 ** 2);
    expect(hubProcess!.user).not.toBe('');
  });

  it('GPUs, disk health and services reach the REST API too', async () => {
    const d = await waitFor('GPUs, disks and services', async () => {
      const r = await detail();
      return r?.report.gpus?.length === 2 && r.report.disk_health?.length === 2 && r.report.services?.length === 3 ? r : undefined;
    }, 20_000, 250);
    expect(d.report.gpus!.map((g) => g.name)).toEqual(['NVIDIA GeForce RTX 3060', 'NVIDIA A100-SXM4-40GB']);
    expect(d.report.disk_health!.map((x) => [x.device, x.passed, x.reallocated_sectors ?? 0])).toEqual([['/dev/sda', true, 8], ['/dev/nvme0', true, 0]]);
    expect(d.report.services!.find((x) => x.name === 'postgresql@16-main.service')).toMatchObject({ active_state: 'failed', restarts: 3 });
    for (const line of ['GPUs: nvidia (', 'disk health: smartctl for /dev/sda, /dev/nvme0', 'services: 3 systemd units match nginx*,postgres*']) {
      expect(hub.output().split('\n').filter((l) => l.includes(line))).toHaveLength(1);
    }
  });

  it('alert rules on the sources fire, and the hub lists the failing count', async () => {
    const post = (body: object) => fetch(`${hubUrl}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await Promise.all([
      post({ name: 'a container is down', metric: 'containers_failing', threshold: 0, severity: 'critical' }),
      post({ name: 'a service failed', metric: 'services_failed', threshold: 0 }),
      post({ name: 'disk failing', metric: 'disks_failing', threshold: 0 }),
      post({ name: 'GPU hot', metric: 'gpu_temperature_c', threshold: 80 }),
    ]);
    expect(created.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const ids = (await Promise.all(created.map((r) => r.json() as Promise<{ id: string }>))).map((r) => r.id);
    const alerts = await waitFor('three firing alerts', async () => {
      const list = (await (await fetch(`${hubUrl}/api/alerts?machine=${machineId}`)).json()) as Array<{ rule_id: string; state: string; value: number }>;
      return list.filter((a) => a.state === 'firing').length === 3 ? list : undefined;
    }, 20_000, 250);
    const byRule = new Map(alerts.map((a) => [a.rule_id, a]));
    expect(byRule.get(ids[0])!.value).toBe(2); // db-1 unhealthy, migrate-1 exited
    expect(byRule.get(ids[1])!.value).toBe(1); // postgresql@16-main failed
    expect(byRule.has(ids[2])).toBe(false); // both disks pass
    expect(byRule.get(ids[3])!.value).toBe(84); // the A100
    const machines = (await (await fetch(`${hubUrl}/api/machines`)).json()) as Array<{ id: string; failing: number; problems: object }>;
    expect(machines.find((m) => m.id === machineId)).toMatchObject({ failing: 3, problems: { containers_failing: 2, services_failed: 1, disks_failing: 0, gpu_temperature_c: 84 } });
  });

  it.skipIf(!hasChromium)('the fleet card shows a badge with what is failing', async () => {
    const guarded = await openGuardedPage(browser!, { viewport: { width: 1000, height: 500 }, colorScheme: 'dark' });
    try {
      const { page } = guarded;
      await page.goto(`${hubUrl}/`);
      const badge = page.locator('.card', { hasText: machineId }).locator('.failing-badge');
      await badge.waitFor({ state: 'visible', timeout: 20_000 });
      expect(await badge.innerText()).toBe('3 failing');
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.locator('.card', { hasText: machineId }).screenshot({ path: path.join(SCREENSHOT_DIR, 'fleet-card-failing.png') });
      expect(guarded.problems).toEqual([]);
    } finally {
      await guarded.close();
    }
  });

  it.skipIf(!hasChromium)('the machine page shows the containers, top processes, GPUs, disk health and services tables', async () => {
    const guarded = await openGuardedPage(browser!, { viewport: { width: 1280, height: 1400 }, colorScheme: 'dark' });
    try {
      const { page } = guarded;
      await page.goto(`${hubUrl}/#/machine/${machineId}`);
      const containers = page.locator('table', { has: page.locator('caption', { hasText: 'Containers' }) });
      await containers.locator('tbody tr').first().waitFor({ timeout: 20_000 });
      const rows = await containers.locator('tbody tr').allInnerTexts();
      expect(rows.some((r) => r.includes('web-1') && r.includes('nginx:1.27-alpine') && r.includes('healthy'))).toBe(true);
      expect(await containers.locator('tbody tr', { hasText: 'db-1' }).locator('.level-badge').getAttribute('data-level')).toBe('crit');
      const processes = page.locator('table', { has: page.locator('caption', { hasText: 'Top processes' }) });
      await processes.locator('tbody tr').first().waitFor({ timeout: 20_000 });
      expect(await processes.locator('tbody tr').count()).toBeGreaterThan(0);
      expect(await processes.locator('tbody tr').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining(String(hub.child.pid))]));
      for (const caption of ['GPUs', 'Disk health', 'Services']) {
        await page.locator('table', { has: page.locator('caption', { hasText: caption }) }).locator('tbody tr').first().waitFor({ timeout: 20_000 });
      }
      const failedUnit = page.locator('table', { has: page.locator('caption', { hasText: 'Services' }) }).locator('tbody tr', { hasText: 'postgresql@16-main' });
      expect(await failedUnit.locator('.level-badge').getAttribute('data-level')).toBe('crit');
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.locator('section.details').screenshot({ path: path.join(SCREENSHOT_DIR, 'machine-sources.png') });
      expect(guarded.problems).toEqual([]);
    } finally {
      await guarded.close();
    }
  });
});
