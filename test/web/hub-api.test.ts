// web/src/hub-api.ts on its own in a real browser, its page served at the origin of a real hub (in
// process, local PostgreSQL, two machines fed by synthetic collectors) so every call goes to the hub's
// real API, and at the synthetic edge server (test/web/synthetic-fleet-server.ts) for the edge mode:
// the mode, the recent ring, history points, failing counts, a machine's latest report, the errors
// (the endpoint, the status and the hub's own message), and the public-view prefix and link key.
import { create } from '@bufbuild/protobuf';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContainerSchema, ServiceSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import type * as HubApi from '../../web/src/hub-api.ts';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, type GuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';
import { startSyntheticFleetServer, type SyntheticFleetServer } from './synthetic-fleet-server.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);

declare global {
  interface Window {
    hubApi: typeof HubApi;
  }
}

describe.skipIf(!hasChromium)('hub-api', () => {
  let web: WebHub;
  let edge: SyntheticFleetServer;
  let html: string;
  let base: string;
  const startedAt = Date.now();

  beforeAll(async () => {
    html = await modulePage(["import * as hubApi from './hub-api.ts';", 'window.hubApi = hubApi;']);
    web = await startWebHub({ name: 'hub-api', env: { HISTORY_FLUSH_INTERVAL: '0.05' } });
    base = web.base;
    web.feed(['ha-ok', 'ha-bad'], {
      everyMs: 200,
      report: (id, seq) => {
        if (id === 'ha-ok') return syntheticReport(id, seq, Date.now(), 42);
        const bad = syntheticReport(id, seq, Date.now(), 7);
        bad.services = [create(ServiceSchema, { name: 'nginx.service', activeState: 'failed', subState: 'failed' })];
        bad.containers = [create(ContainerSchema, { id: 'c1', name: 'worker', image: 'worker:1', state: 'exited' })];
        return bad;
      },
    });
    await waitFor('both machines in history', async () => {
      const res = await fetch(`${base}/api/machines/ha-ok/history?metric=cpu_percent&from=${startedAt - 60_000}&to=${Date.now()}&step=auto`);
      const body = (await res.json()) as { points?: unknown[] };
      return (body.points?.length ?? 0) >= 3 && (await web.getJson<unknown[]>('/api/machines')).length === 2;
    });
    edge = await startSyntheticFleetServer({ machines: 3, pushIntervalMs: 200 });
  }, 90_000);

  afterAll(async () => {
    await edge?.close();
    await web?.close();
  });

  async function withApiPage(origin: string, run: (page: Page, g: GuardedPage) => Promise<void>): Promise<void> {
    const g = await openGuardedPage(web.browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
    try {
      await openModulePage(g.page, html, `${origin}/module-page`);
      await run(g.page, g);
    } finally {
      await g.close();
    }
  }

  test('on the hub: mode, recent, history, failing counts, a machine\'s report', async () => {
    await withApiPage(base, async (page, g) => {
      expect(await page.evaluate(() => window.hubApi.detectMode())).toEqual({ mode: 'hub', signedIn: false });

      const recent = await page.evaluate(() => window.hubApi.fetchRecent('ha-ok', 3));
      expect(recent.length).toBeGreaterThanOrEqual(1);
      expect(recent.length).toBeLessThanOrEqual(3);
      for (const s of recent) {
        expect(typeof s.t).toBe('number');
        expect(s.metrics.cpu_percent).toBe(42);
      }

      const to = Date.now();
      const history = await page.evaluate(({ from, to }) => window.hubApi.fetchHistory('ha-ok', 'cpu_percent', from, to), { from: startedAt - 60_000, to });
      expect(history).toMatchObject({ metric: 'cpu_percent', from: Math.floor(startedAt - 60_000), to: Math.ceil(to) });
      expect(typeof history.step).toBe('string');
      const values = history.points.map(([, v]) => v).filter((v) => v !== null);
      expect(values.length).toBeGreaterThan(0);
      expect(values.every((v) => v === 42)).toBe(true);
      expect(history.points.every(([t]) => t >= startedAt - 60_000 - 60_000 && t <= to)).toBe(true);

      // A failed unit and an exited container: two failing on that machine, none elsewhere.
      expect(await page.evaluate(async () => [...(await window.hubApi.fetchFailingCounts())])).toEqual([['ha-bad', 2]]);

      const detail = await page.evaluate(() => window.hubApi.fetchMachineDetail('ha-bad'));
      expect(detail.id).toBe('ha-bad');
      expect(detail.lastSeen).toBeGreaterThanOrEqual(startedAt);
      expect(detail.report.cpu?.total_percent).toBe(7);
      expect(detail.report.services).toEqual([expect.objectContaining({ name: 'nginx.service', active_state: 'failed' })]);
      expect(g.problems).toEqual([]);
    });
  }, 60_000);

  test('errors name the endpoint, the status and the hub\'s message', async () => {
    await withApiPage(base, async (page) => {
      const hubSays = ((await (await fetch(`${base}/api/machines/nope/metrics`)).json()) as { error: string }).error;
      expect(hubSays).toBeTruthy();
      expect(await page.evaluate(() => window.hubApi.fetchMachineDetail('nope').then(() => 'resolved', (e: Error) => e.message))).toBe(`GET /api/machines/nope/metrics answered 404: ${hubSays}`);
      expect(await page.evaluate(() => window.hubApi.fetchHistory('ha-ok', 'cpu_percent', 2000, 1000).then(() => 'resolved', (e: Error) => e.message))).toMatch(
        /^GET \/api\/machines\/ha-ok\/history\?metric=cpu_percent&from=2000&to=1000&step=auto answered 400: .+/,
      );
      // An id is sent encoded.
      expect(await page.evaluate(() => window.hubApi.fetchRecent('a/b', 5).then(() => 'resolved', (e: Error) => e.message))).toMatch(/^GET \/api\/machines\/a%2Fb\/recent\?limit=5 answered 4\d\d/);
      // The hub serves no public view: no view info.
      expect(await page.evaluate(() => window.hubApi.fetchViewInfo())).toBeNull();
    });
  }, 60_000);

  test('a public view\'s prefix and link key go on every edge request', async () => {
    await withApiPage(base, async (page) => {
      const asked: string[] = [];
      page.on('request', (r) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search));
      await page.evaluate(() => window.hubApi.setViewApi('/v/status', 'k3y/+'));
      await page.evaluate(() => window.hubApi.fetchViewInfo().catch(() => undefined));
      await page.evaluate(() => window.hubApi.fetchRecent('ha-ok', 5).catch(() => undefined));
      expect(asked).toEqual(['/v/status/api/view?key=k3y%2F%2B', '/v/status/api/machines/ha-ok/recent?limit=5&key=k3y%2F%2B']);
    });
  }, 60_000);

  test('on the edge: read-only mode and the relay\'s recent ring', async () => {
    await withApiPage(edge.url, async (page, g) => {
      expect(await page.evaluate(() => window.hubApi.detectMode())).toEqual({ mode: 'edge', signedIn: false });
      const recent = await page.evaluate(() => window.hubApi.fetchRecent('m-0001', 10));
      expect(recent).toHaveLength(1);
      expect(typeof recent[0].metrics.cpu_percent).toBe('number');
      expect(await page.evaluate(() => window.hubApi.fetchFailingCounts().then(() => 'resolved', (e: Error) => e.message))).toBe('GET /api/machines answered 404: not on the edge');
      expect(g.problems.filter((p) => !p.includes('404'))).toEqual([]);
    });
  }, 60_000);
});
