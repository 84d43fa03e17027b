// The login page (hub with DASHBOARD_TOKEN) wears the dashboard's theme in a real Chromium: light or
// dark as the system asks, the viewer's stored choice from the dashboard's toggle when there is one,
// and its own toggle that the dashboard then follows. Its colours are the dashboard's colours in the
// same scheme. Screenshots in both schemes go to test-output/screenshots (login-light.png, login-dark.png).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../../hub/config.ts';
import { startHub, type Hub } from '../../../hub/hub.ts';
import { ensureWebBuilt } from '../../../web/build.ts';
import { createTestDatabase, tempDir } from '../../support/servers.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from '../../support/dashboard-checks.ts';

const DASHBOARD_TOKEN = 'dashboard-token-login-page-01';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let hub: Hub;
let browser: Browser;
const dir = tempDir('login-page');

describe.skipIf(!existsSync(CHROMIUM_PATH))('login page theme (Chromium)', () => {
  beforeAll(async () => {
    await ensureWebBuilt();
    db = await createTestDatabase();
    const config = parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', DATA_DIR: dir.path, TIMESCALE_URL: db.url, DASHBOARD_TOKEN });
    hub = await startHub(config, { log: pino({ level: 'silent' }), dbMaxConnections: 2 });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await db?.drop();
    dir.remove();
  });

  const base = () => `http://localhost:${hub.httpPort}`;
  /** Computed colours of the page body and the palette custom properties the login page shares with the dashboard. */
  const colours = (page: Page) =>
    page.evaluate(() => {
      const body = getComputedStyle(document.body);
      const root = getComputedStyle(document.documentElement);
      const palette = ['--bg', '--surface', '--border', '--text', '--muted', '--accent', '--focus', '--critical'].map((v) => `${v}: ${root.getPropertyValue(v).trim()}`);
      return { background: body.backgroundColor, text: body.color, palette, scheme: root.colorScheme };
    });

  /** Signs in on `page` (at /login) and returns the dashboard's colours in the same browser context. */
  async function signInAndReadDashboard(page: Page) {
    await page.fill('#token', DASHBOARD_TOKEN);
    await Promise.all([page.waitForURL(`${base()}/`), page.click('button[type=submit]')]);
    await page.locator('header.topbar').waitFor();
    return colours(page);
  }

  for (const scheme of ['light', 'dark'] as const) {
    it(`follows the system ${scheme} scheme with the dashboard's colours`, async () => {
      const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 800 }, colorScheme: scheme });
      try {
        await g.page.goto(`${base()}/`);
        expect(new URL(g.page.url()).pathname).toBe('/login');
        const login = await colours(g.page);
        expect(login.scheme).toBe(scheme);
        // Dark text on a light page in light, the reverse in dark.
        const luminance = (rgb: string) => {
          const [r, gr, b] = rgb.match(/\d+/g)!.map(Number);
          return 0.2126 * r + 0.7152 * gr + 0.0722 * b;
        };
        if (scheme === 'light') expect(luminance(login.background)).toBeGreaterThan(luminance(login.text));
        else expect(luminance(login.background)).toBeLessThan(luminance(login.text));
        const toggle = g.page.locator('#theme-toggle');
        await expect.poll(() => toggle.isVisible()).toBe(true);
        expect(await toggle.getAttribute('aria-label')).toBe(`Switch to ${scheme === 'dark' ? 'light' : 'dark'} theme`);
        const shot = path.join(SCREENSHOT_DIR, `login-${scheme}.png`);
        await g.page.screenshot({ path: shot });
        const dashboard = await signInAndReadDashboard(g.page);
        expect(dashboard.scheme).toBe(scheme);
        expect(login.background).toBe(dashboard.background);
        expect(login.text).toBe(dashboard.text);
        expect(login.palette).toEqual(dashboard.palette);
        expect(g.problems).toEqual([]);
      } finally {
        await g.close();
      }
    }, 60_000);
  }

  it('takes the choice made with the dashboard toggle over the system scheme, and its own toggle carries to the dashboard', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    try {
      await g.page.goto(`${base()}/login`);
      const systemDark = await colours(g.page);
      // The viewer picked light on the dashboard earlier (same key as web/src/theme.ts).
      await g.page.evaluate(() => localStorage.setItem('sysmonstm-theme', 'light'));
      await g.page.reload();
      const picked = await colours(g.page);
      expect(picked.scheme).toBe('light');
      expect(picked.background).not.toBe(systemDark.background);
      // The login page's toggle goes back to dark and is remembered.
      await g.page.click('#theme-toggle');
      expect(await g.page.evaluate(() => localStorage.getItem('sysmonstm-theme'))).toBe('dark');
      expect((await colours(g.page)).background).toBe(systemDark.background);
      await g.page.click('#theme-toggle');
      expect(await g.page.evaluate(() => localStorage.getItem('sysmonstm-theme'))).toBe('light');
      const light = await colours(g.page);
      expect(light.background).toBe(picked.background);
      // The dashboard follows the same stored choice, though the system is dark.
      const dashboard = await signInAndReadDashboard(g.page);
      expect(dashboard.scheme).toBe('light');
      expect(dashboard.background).toBe(light.background);
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);

  it('a wrong token is told on the themed page; the theme script is served without a session', async () => {
    const res = await fetch(`${base()}/login-theme.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    const g = await openGuardedPage(browser, { viewport: { width: 360, height: 740 }, colorScheme: 'light' });
    try {
      await g.page.goto(`${base()}/login`);
      await g.page.fill('#token', 'not-the-token');
      await g.page.click('button[type=submit]');
      const alert = g.page.locator('p[role=alert]');
      await alert.waitFor();
      expect(await alert.textContent()).toBe('That is not the dashboard token.');
      expect((await colours(g.page)).scheme).toBe('light');
      await g.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'login-light-wrong-token-phone.png') });
      // The 401 of the form post is the only console line the browser writes.
      expect(g.problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
