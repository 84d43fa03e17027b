// web/src/alerts-store.ts on its own in a real browser, its page served at the origin of a real hub
// (in process, local PostgreSQL, one machine firing one rule): nothing before the first answer; a
// refresh loads the active alerts and tells every listener (one that throws does not stop the rest);
// refreshes at the same time share one request; start() polls every ALERTS_POLL_MS, once however
// often it is called; and when the hub is gone the error is kept beside the last good list.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ALERTS_POLL_MS, type AlertsStore, type createAlertsStore } from '../../web/src/alerts-store.ts';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINE = 'as-box';

declare global {
  interface Window {
    alertsStore: { createAlertsStore: typeof createAlertsStore; store?: AlertsStore; heard: string[]; stop?: () => void };
  }
}

describe.skipIf(!hasChromium)('alerts-store', () => {
  let web: WebHub;
  let html: string;
  let base: string;
  let ruleId = '';

  beforeAll(async () => {
    html = await modulePage(["import { createAlertsStore } from './alerts-store.ts';", 'window.alertsStore = { createAlertsStore, heard: [] };']);
    web = await startWebHub({ name: 'alerts-store' });
    base = web.base;
    const res = await fetch(`${base}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'CPU busy', metric: 'cpu_percent', op: '>', threshold: 30 }) });
    ruleId = ((await res.json()) as { id: string }).id;
    web.feed(MACHINE, { report: (m, seq) => syntheticReport(m, seq, Date.now(), 42) });
    await waitFor('the alert', async () => (await web.getJson<unknown[]>('/api/alerts')).length === 1);
  }, 90_000);

  afterAll(() => web?.close());

  test('first answer, listeners, shared refreshes, polling, and the hub gone', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      const gets: number[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/alerts' && r.method() === 'GET') gets.push(Date.now());
      });
      await openModulePage(page, html, `${base}/module-page`);
      const view = () => page.evaluate(() => ({ ready: window.alertsStore.store!.ready, error: window.alertsStore.store!.error, alerts: window.alertsStore.store!.alerts.map((a) => [a.rule_id, a.machine, a.state, a.rule_name]) }));
      const heard = () => page.evaluate(() => window.alertsStore.heard);

      // Nothing asked yet.
      await page.evaluate(() => {
        const s = window.alertsStore;
        s.store = s.createAlertsStore();
        s.store.subscribe(() => {
          throw new Error('a listener that fails');
        });
        s.stop = s.store.subscribe(() => s.heard.push(`${s.store!.alerts.length}:${s.store!.error ?? ''}`));
      });
      expect(await view()).toEqual({ ready: false, error: undefined, alerts: [] });
      expect(gets).toEqual([]);

      // Three refreshes at once: one request, every listener told once (the failing one does not stop the next).
      await page.evaluate(() => Promise.all([window.alertsStore.store!.refresh(), window.alertsStore.store!.refresh(), window.alertsStore.store!.refresh()]));
      expect(gets).toHaveLength(1);
      expect(await view()).toEqual({ ready: true, error: undefined, alerts: [[ruleId, MACHINE, 'firing', 'CPU busy']] });
      expect(await heard()).toEqual(['1:']);
      expect(g.problems.filter((p) => !p.includes('sysmonstm: alerts listener failed'))).toEqual([]);
      expect(g.problems.some((p) => p.includes('sysmonstm: alerts listener failed'))).toBe(true);

      // start(): at once, then every ALERTS_POLL_MS; a second start() adds nothing.
      const startedAt = Date.now();
      await page.evaluate(() => {
        window.alertsStore.store!.start();
        window.alertsStore.store!.start();
      });
      await new Promise((r) => setTimeout(r, 2 * ALERTS_POLL_MS + 900));
      const polled = gets.slice(1).map((t) => t - startedAt);
      expect(polled).toHaveLength(3);
      expect(polled[1] - polled[0]).toBeGreaterThan(ALERTS_POLL_MS - 300);
      expect(polled[1] - polled[0]).toBeLessThan(ALERTS_POLL_MS + 500);
      expect(polled[2] - polled[1]).toBeGreaterThan(ALERTS_POLL_MS - 300);
      expect((await heard()).length).toBe(4);

      // A listener that left hears nothing more.
      await page.evaluate(() => window.alertsStore.stop!());
      await page.evaluate(() => window.alertsStore.store!.refresh());
      expect((await heard()).length).toBe(4);
      await page.evaluate(() => (window.alertsStore.stop = window.alertsStore.store!.subscribe(() => window.alertsStore.heard.push(`${window.alertsStore.store!.alerts.length}:${window.alertsStore.store!.error ?? ''}`))));

      // The hub goes away: the error is kept, the last good list stays, listeners are told.
      await web.stopFeeding();
      await web.hub.close();
      await page.evaluate(() => window.alertsStore.store!.refresh());
      const after = await view();
      expect(after.ready).toBe(true);
      expect(after.error).toBeTruthy();
      expect(after.alerts).toEqual([[ruleId, MACHINE, 'firing', 'CPU busy']]);
      expect((await heard()).at(-1)).toBe(`1:${after.error}`);
    } finally {
      await g.close();
    }
  }, 60_000);
});
