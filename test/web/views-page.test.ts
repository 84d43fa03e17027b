// The hub dashboard's public-views page in a real browser (playwright-core + Debian Chromium) against a
// real hub (PostgreSQL for the stored views) whose EDGE_URL points at a local WebSocket server playing
// the relay: create a view with the form, see its public URL (the secret link), change it, rotate the
// link, delete it — and the relay receives the config, new config and revoke frames. Screenshots of
// the page at desktop and phone widths go to test-output/screenshots.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../web/build.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { startCaptureRelay, type CaptureRelay } from '../views/capture-relay.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from './dashboard-checks.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const EDGE_KEY = 'edge-key-views-page-test';
const dir = tempDir('views-page');
let browser: Browser;
let hub: Hub;
let relay: CaptureRelay;
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  if (!hasChromium) return;
  await ensureWebBuilt();
  db = await createTestDatabase();
  relay = await startCaptureRelay(EDGE_KEY);
  const config = parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', DATA_DIR: dir.path, TIMESCALE_URL: db.url, EDGE_URL: relay.url, EDGE_API_KEY: EDGE_KEY, EDGE_PUSH_INTERVAL: '0.1' });
  hub = await startHub(config, { log: pino({ level: 'silent' }), dbMaxConnections: 2 });
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await relay?.close();
  await db?.drop();
  dir.remove();
});

describe.skipIf(!hasChromium)('hub dashboard: public views page', () => {
  it('creates, changes, rotates and deletes a view; shows its public URL', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`http://127.0.0.1:${hub.httpPort}/#/views`);
      await expect.poll(() => page.locator('.views-page h1').textContent()).toBe('Public views');
      await expect.poll(() => page.locator('.views-page .alerts-empty').isVisible()).toBe(true);
      expect(await page.locator('.views-nav').isVisible()).toBe(true);

      await page.click('.new-view');
      await page.fill('.vf-slug', 'status');
      await page.fill('.vf-title', 'Public status');
      await page.selectOption('.vf-access', 'link');
      await page.uncheck('.vf-metric-disk_percent');
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hub-public-views-form.png'), fullPage: true });
      await page.click('.vf-save');
      const item = page.locator('.view-item[data-slug="status"]');
      await expect.poll(() => item.count()).toBe(1);
      const base = relay.url.replace('ws://', 'http://').replace('/ingest', '');
      const href = (await item.locator('.view-link').getAttribute('href'))!;
      expect(href).toMatch(new RegExp(`^${base.replace(/[.]/g, '\\.')}/v/status\\?key=[A-Za-z0-9_-]{32}$`));
      expect(await item.locator('.rule-desc').textContent()).toBe('every machine · 5 metrics · names only · secret link');
      const view = relay.view('status');
      await waitFor('config at the edge', () => view.configs.length === 1);
      expect(view.configs[0]).toMatchObject({ title: 'Public status', access: 'link', metrics: [0, 1, 3, 4, 5] });

      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hub-public-views-desktop.png'), fullPage: true });

      await item.locator('.view-edit').click();
      await page.fill('.vf-title', 'Status page');
      await page.click('.vf-save');
      await waitFor('changed title at the edge', () => view.configs.at(-1)?.title === 'Status page');

      await page.locator('.view-item[data-slug="status"] .view-rotate').click();
      await waitFor('rotated key at the edge', () => view.configs.length === 3 && view.configs[2].keyHash !== view.configs[1].keyHash);
      await expect.poll(() => page.locator('.view-item[data-slug="status"] .view-link').getAttribute('href')).not.toBe(href);

      // Form errors from the hub are shown as they are (the field named).
      await page.click('.new-view');
      await page.fill('.vf-slug', 'Bad Slug');
      await page.click('.vf-save');
      await expect.poll(() => page.locator('.views-page .form-message').textContent()).toMatch(/view\.slug: must match/);
      await page.click('.vf-cancel');

      const phone = await openGuardedPage(browser, { viewport: { width: 360, height: 780 }, colorScheme: 'light' });
      await phone.page.goto(`http://127.0.0.1:${hub.httpPort}/#/views`);
      await expect.poll(() => phone.page.locator('.view-item').count()).toBe(1);
      await phone.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hub-public-views-phone.png'), fullPage: true });
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await phone.close();

      const del = page.locator('.view-item[data-slug="status"] .view-delete');
      await del.click();
      expect(await del.textContent()).toBe('Delete: sure?');
      await del.click();
      await expect.poll(() => page.locator('.view-item').count()).toBe(0);
      await waitFor('revoked at the edge', () => view.revoked);
      // The one 400 is the deliberate invalid slug above.
      expect(g.problems.filter((p) => !p.includes('400 (Bad Request)'))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
