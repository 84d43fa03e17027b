// The whole product the way a user runs it: `sysmonstm all` (hub + a real collector for this machine,
// with a hostile display name) forwarding to the real edge (`wrangler dev`: Worker + FleetRelay in
// workerd) on 127.0.0.1, then
//   - several `ws` viewers on the Worker's /ws receive this machine live, values moving;
//   - the Worker's REST answers (/api/machines, /api/machines/:id/recent) agree with the hub;
//   - both dashboards in Chromium: the hub's (history) and the Worker's (read-only, charts seeded from
//     the relay's recent ring), with the hostile name staying text. Screenshots in test-output/screenshots.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../web/build.ts';
import { TestViewer } from '../edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../edge/wrangler-dev.ts';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';
import { checkDashboard, CHROMIUM_PATH, HOSTILE_NAME, launchBrowser, openGuardedPage } from '../support/dashboard-checks.ts';
import { writeEverythingViewFile } from '../support/public-views.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`browser checks skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`);

interface HubMachine {
  id: string;
  name: string;
  lastSeen: number;
  metrics: Record<string, number | null>;
}

let dev: WranglerDev;
let hub: CliProcess;
let hubUrl: string;
let machineId: string;
let browser: Browser | undefined;
const dataDir = tempDir('chain');
const viewers: TestViewer[] = [];

async function hubMachines(): Promise<HubMachine[]> {
  const res = await fetch(`${hubUrl}/api/machines`);
  return res.ok ? ((await res.json()) as HubMachine[]) : [];
}

beforeAll(async () => {
  await ensureWebBuilt();
  dev = await startWranglerDev();
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  hubUrl = `http://127.0.0.1:${httpPort}`;
  hub = runCli(['all'], {
    HTTP_PORT: String(httpPort),
    GRPC_PORT: String(grpcPort),
    DATA_DIR: dataDir.path,
    COLLECTION_INTERVAL: '0.5',
    MACHINE_NAME: HOSTILE_NAME,
    EDGE_URL: dev.ingestUrl,
    EDGE_API_KEY: dev.hubToken,
    PUBLIC_VIEWS_FILE: writeEverythingViewFile(dataDir.path),
    LOG_LEVEL: 'warn',
  });
  try {
    const mine = await waitFor('the hub to list the local collector', async () => (await hubMachines()).find((m) => m.name === HOSTILE_NAME), 40_000, 250);
    machineId = mine.id;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- hub output ---\n${hub.output()}\n--- wrangler output ---\n${dev?.output()}`);
  }
  if (hasChromium) browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  for (const v of viewers) v.close();
  await browser?.close();
  await hub?.stop();
  await dev?.stop();
  dataDir.remove();
});

describe('collector → hub → wrangler dev → viewers', () => {
  it('several viewers of the Worker receive this machine live, with values that move', async () => {
    for (let i = 0; i < 3; i++) viewers.push(await TestViewer.open(dev.viewerUrl));
    for (const v of viewers) {
      await waitFor('the machine at the viewer', () => v.fleet.get(machineId), 15_000);
      expect(v.fleet.get(machineId)!.name).toBe(HOSTILE_NAME); // the name travels as data, unchanged
      expect(v.messages[0].t).toBe('s'); // a snapshot first, then deltas
    }
    const firstSeen = viewers.map((v) => v.fleet.get(machineId)!.lastSeen);
    // Live: each viewer sees the machine's lastSeen move on, and uptime with it.
    await waitFor('newer reports at every viewer', () => viewers.every((v, i) => v.fleet.get(machineId)!.lastSeen > firstSeen[i] + 900), 15_000);
    for (const v of viewers) {
      const m = v.fleet.get(machineId)!;
      expect(m.values.memory_percent).toBeGreaterThan(0);
      expect(m.values.uptime_seconds).toBeGreaterThan(0);
      expect(v.messages.slice(1).every((msg) => msg.t === 'd')).toBe(true);
    }
    // What the viewers see is what the hub holds (the edge lags by at most a push or two).
    const atHub = (await hubMachines()).find((m) => m.id === machineId)!;
    const atViewer = viewers[0].fleet.get(machineId)!;
    expect(Math.abs(atHub.lastSeen - atViewer.lastSeen)).toBeLessThan(5_000);
    expect(Math.abs((atHub.metrics.memory_percent ?? 0) - (atViewer.values.memory_percent ?? 0))).toBeLessThan(5);
  });

  it("the Worker's REST answers agree with the hub and keep a recent ring", async () => {
    const res = await fetch(`${dev.url}/api/machines`);
    expect(res.status).toBe(200);
    const list = (await res.json()) as HubMachine[];
    expect(list.map((m) => m.id)).toContain(machineId);
    const recent = await waitFor(
      'a few recent points at the relay',
      async () => {
        const r = await fetch(`${dev.url}/api/machines/${machineId}/recent`);
        const points = (await r.json()) as Array<{ t: number; metrics: Record<string, number> }>;
        return points.length >= 3 ? points : undefined;
      },
      15_000,
    );
    for (let i = 1; i < recent.length; i++) expect(recent[i].t).toBeGreaterThan(recent[i - 1].t);
    expect(recent.at(-1)!.metrics.memory_percent).toBeGreaterThan(0);
    expect((await fetch(`${dev.url}/api/machines/no-such-machine/recent`)).status).toBe(404);
    expect((await fetch(`${dev.url}/api/machines/bad%20id/recent`)).status).toBe(400);
  });
});

describe.skipIf(!hasChromium)('both dashboards in Chromium', () => {
  it('the hub dashboard: live values, the hostile name as text, history in the machine view', async () => {
    const result = await checkDashboard(browser!, hubUrl, { machineName: HOSTILE_NAME, mode: 'hub', label: 'hub' });
    expect(result.machineId).toBe(machineId);
    expect(result.chartPoints).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('the Worker dashboard: the same checks read-only', async () => {
    const result = await checkDashboard(browser!, dev.url, { machineName: HOSTILE_NAME, mode: 'edge', label: 'worker' });
    expect(result.machineId).toBe(machineId);
  }, 90_000);

  it("the Worker's machine view starts its charts from the relay's recent ring", async () => {
    await waitFor('five recent points at the relay', async () => {
      const r = await fetch(`${dev.url}/api/machines/${machineId}/recent`);
      return ((await r.json()) as unknown[]).length >= 5;
    });
    const g = await openGuardedPage(browser!, { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    try {
      const openedAtMs = Date.now();
      await g.page.goto(`${dev.url}/#/machine/${encodeURIComponent(machineId)}`);
      const cpu = g.page.locator('.chart', { has: g.page.locator('.chart-title', { hasText: /^CPU$/ }) });
      await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
      // Points from before the page existed can only have come from the relay's ring.
      expect(Number(await cpu.getAttribute('data-first-ms'))).toBeLessThan(openedAtMs - 2_000);
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 45_000);
});
