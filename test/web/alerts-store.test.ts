// web/src/alerts-store.ts on its own in a real browser, its page served at the origin of a real hub
// (in process, local PostgreSQL, one machine firing one rule): nothing before the first answer; a
// refresh loads the active alerts and tells every listener (one that throws does not stop the rest);
// refreshes at the same time share one request; start() polls every ALERTS_POLL_MS, once however
// often it is called; and when the hub is gone the error is kept beside the last good list.
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ALERTS_POLL_MS, type AlertsStore, type createAlertsStore } from '../../web/src/alerts-store.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINE = 'as-box';

declare global {
  interface Window {
    alertsStore: { createAlertsStore: typeof createAlertsStore; store?: AlertsStore; heard: string[]; stop?: () => void };
  }
}

describe.skipIf(!hasChromium)('alerts-store', () => {
  const dir = tempDir('alerts-store');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let browser: Browser;
  let html: string;
  let base: string;
  let session: SyntheticSession;
  let ticker: NodeJS.Timeout | undefined;
  let seq = 0;
  let ruleId = '';

  beforeAll(async () => {
    html = await modulePage(["import { createAlertsStore } from './alerts-store.ts';", 'window.alertsStore = { createAlertsStore, heard: [] };']);
    db = await createTestDatabase();
    hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: db.url }), { log: pino({ level: 'silent' }) });
    base = `http://127.0.0.1:${hub.httpPort}`;
    const res = await fetch(`${base}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'CPU busy', metric: 'cpu_percent', op: '>', threshold: 30 }) });
    ruleId = ((await res.json()) as { id: string }).id;
    session = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, MACHINE);
    const send = () => session.send(syntheticReport(MACHINE, ++seq, Date.now(), 42));
    send();
    ticker = setInterval(send, 300);
    await waitFor('the alert', async () => ((await (await fetch(`${base}/api/alerts`)).json()) as unknown[]).length === 1);
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    clearInterval(ticker);
    await browser?.close();
    await session?.finish().catch(() => {});
    await hub?.close();
    await db?.drop();
    dir.remove();
  });

  test('first answer, listeners, shared refreshes, polling, and the hub gone', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
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
      clearInterval(ticker);
      await session.finish().catch(() => {});
      await hub.close();
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
