// web/src/machine-page.ts in a real browser (the dashboard has no DOM emulation here) against a real
// hub in process (local PostgreSQL) fed by a synthetic collector every 300 ms: the header (name, host
// and id, labels, "every 300 ms"), the tiles and the detail tables from the latest report, the live
// charts, a history range (1 h: step 1m from the database), the stale and offline notes once the
// machine falls silent, and an id the fleet does not know. Screenshot in
// test-output/screenshots/machine-page.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type Feed, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINE = 'mp-box';

describe.skipIf(!hasChromium)('the machine page', () => {
  let web: WebHub;
  let base: string;
  let feed: Feed;

  beforeAll(async () => {
    web = await startWebHub({ name: 'machine-page', dashboard: true, env: { HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' } });
    base = web.base;
    feed = web.feed(MACHINE, {
      report: (m, seq) => {
        const report = syntheticReport(m, seq, Date.now(), 42);
        report.intervalMs = 300;
        report.labels = { env: 'test', rack: '' };
        return report;
      },
    });
    await waitFor('the machine listed', async () => (await web.getJson<unknown[]>('/api/machines')).length === 1);
  }, 90_000);

  afterAll(() => web?.close());

  test('header, tiles, tables, live charts, a history range; then stale and offline', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
    try {
      const { page } = g;
      await page.goto(`${base}/#/machine/${MACHINE}`);
      await expect.poll(() => page.locator('.machine-name').textContent()).toBe(MACHINE);
      expect(await page.title()).toBe(`${MACHINE} · sysmonstm`);
      expect(await page.locator('.machine-host').textContent()).toBe(`${MACHINE}.local · ${MACHINE}`);
      await expect.poll(() => page.locator('.machine-seen').textContent()).toMatch(/^last report (just now|\d+ s ago) · every 300 ms$/);
      expect(await page.locator('.machine-header .labels .label').allTextContents()).toEqual(['env=test', 'rack']);
      expect(await page.locator('.machine').getAttribute('data-fresh')).toBe('live');
      expect(await page.locator('.freshness-note').isHidden()).toBe(true);
      expect(await page.locator('.interval-control').isVisible()).toBe(true);

      const tile = (label: string) => page.locator('.tile', { has: page.locator('dt', { hasText: label }) }).locator('dd');
      await expect.poll(() => tile('CPU').textContent()).toBe('42.0%');
      expect(await tile('Memory').textContent()).toBe('50.0%');
      expect(await tile('Disk (fullest)').textContent()).toBe('40.0%');
      expect(await tile('Processes').textContent()).toBe('120');
      expect(await tile('Temperature').textContent()).toBe('–');

      // The detail tables from the latest report (hub only).
      await expect.poll(() => page.locator('.details').isVisible()).toBe(true);
      await expect.poll(() => page.locator('.details').textContent()).toContain('/dev/vda1');
      expect(await page.locator('.details').textContent()).toContain('eth0');

      // Live charts draw; the range buttons of the hub; 1 h comes from the database at step 1m.
      await expect.poll(() => page.locator('.charts canvas').count()).toBeGreaterThan(0);
      expect(await page.locator('section[aria-label="Charts"] .range').allTextContents()).toEqual(['Live', '15 m', '1 h', '6 h', '24 h', '7 d', '30 d']);
      await page.locator('section[aria-label="Charts"] .range', { hasText: '1 h' }).click();
      expect(await page.locator('section[aria-label="Charts"] .range', { hasText: '1 h' }).getAttribute('aria-pressed')).toBe('true');
      expect(await page.locator('section[aria-label="Charts"] .range', { hasText: 'Live' }).getAttribute('aria-pressed')).toBe('false');
      await expect.poll(() => page.locator('.chart-status').textContent(), { timeout: 10_000 }).toMatch(/^\d+ points? per series · step 1m/);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'machine-page.png') });
      await page.locator('section[aria-label="Charts"] .range', { hasText: 'Live' }).click();

      // Silent: stale after 3 intervals (at least 3 s), offline after 5 (at least 10 s).
      feed.stop();
      await expect.poll(() => page.locator('.machine').getAttribute('data-fresh'), { timeout: 8_000 }).toBe('stale');
      expect(await page.locator('.freshness-note').textContent()).toMatch(/^Stale: the last report is \d+ s ago; waiting for the next one\.$/);
      await expect.poll(() => page.locator('.machine').getAttribute('data-fresh'), { timeout: 15_000 }).toBe('offline');
      expect(await page.locator('.freshness-note').textContent()).toMatch(/^Offline: no report for \d+ s\. The values shown are the last ones received\.$/);
      expect(await tile('CPU').textContent()).toBe('42.0%');
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);

  test('an id the fleet does not know', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1000, height: 700 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/#/machine/mp-nobody`);
      await expect.poll(() => page.locator('.machine .empty').textContent()).toBe('No machine with id “mp-nobody” in this fleet.Back to the fleet');
      expect(await page.locator('.machine-name').textContent()).toBe('mp-nobody');
      expect(await page.locator('.machine .empty a').getAttribute('href')).toBe('/#/');
      expect(await page.locator('.forget').isHidden()).toBe(true);
      expect(await page.locator('.interval-control').isHidden()).toBe(true);
    } finally {
      await g.close();
    }
  }, 30_000);
});
