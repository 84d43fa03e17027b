// web/src/theme.ts on its own in a real browser (the module and the dashboard's styles in one page at
// an origin, so localStorage works): the system scheme by default and followed while the viewer has
// chosen nothing; a choice from the toggle wins, is remembered across reloads and no longer follows
// the system; listeners hear each change and can leave; the palette is the theme's CSS colours.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type * as Theme from '../../web/src/theme.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';

const hasChromium = existsSync(CHROMIUM_PATH);

declare global {
  interface Window {
    theme: typeof Theme & { heard: string[]; stop?: () => void };
  }
}

/** --text and --series-1 of each theme (web/src/styles.css), as the palette reads them. */
const DARK = { text: '#e6edf3', series1: '#58a6ff' };
const LIGHT = { text: '#1f2328', series1: '#0969da' };

describe.skipIf(!hasChromium)('theme', () => {
  let browser: Browser;
  let html: string;

  beforeAll(async () => {
    html = await modulePage(["import './styles.css';", "import * as theme from './theme.ts';", 'window.theme = { ...theme, heard: [] };']);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  const applied = (page: Page) => page.evaluate(() => ({ data: document.documentElement.dataset.theme, scheme: document.documentElement.style.colorScheme, current: window.theme.currentTheme() }));
  const palette = (page: Page) => page.evaluate(() => ({ text: window.theme.palette().text, series1: window.theme.palette().series[0] }));

  test('the system scheme, followed until the viewer chooses; the choice is remembered', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 400, height: 300 }, colorScheme: 'light' });
    try {
      const { page } = g;
      await openModulePage(page, html);
      await page.evaluate(() => {
        window.theme.stop = window.theme.onThemeChange((t) => window.theme.heard.push(t));
        window.theme.initTheme();
      });
      expect(await applied(page)).toEqual({ data: 'light', scheme: 'light', current: 'light' });
      expect(await palette(page)).toEqual(LIGHT);
      expect(await page.evaluate(() => window.theme.heard)).toEqual(['light']);

      // No choice yet: the page follows the system.
      await page.emulateMedia({ colorScheme: 'dark' });
      await expect.poll(() => applied(page)).toEqual({ data: 'dark', scheme: 'dark', current: 'dark' });
      expect(await palette(page)).toEqual(DARK);
      expect(await page.evaluate(() => window.theme.heard)).toEqual(['light', 'dark']);

      // The toggle: the other theme, stored; the system no longer decides.
      expect(await page.evaluate(() => window.theme.toggleTheme())).toBe('light');
      expect(await applied(page)).toEqual({ data: 'light', scheme: 'light', current: 'light' });
      expect(await palette(page)).toEqual(LIGHT);
      expect(await page.evaluate(() => localStorage.getItem('sysmonstm-theme'))).toBe('light');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.emulateMedia({ colorScheme: 'dark' });
      await new Promise((r) => setTimeout(r, 200));
      expect((await applied(page)).current).toBe('light');
      expect(await page.evaluate(() => window.theme.heard)).toEqual(['light', 'dark', 'light']);

      // A listener that left hears nothing more.
      await page.evaluate(() => window.theme.stop!());
      expect(await page.evaluate(() => window.theme.toggleTheme())).toBe('dark');
      expect(await page.evaluate(() => window.theme.heard)).toEqual(['light', 'dark', 'light']);
      expect(await palette(page)).toEqual(DARK);

      // Reloaded with the system in light: the stored choice (dark) wins.
      await page.emulateMedia({ colorScheme: 'light' });
      await page.reload();
      await page.evaluate(() => window.theme.initTheme());
      expect(await applied(page)).toEqual({ data: 'dark', scheme: 'dark', current: 'dark' });
      expect(await palette(page)).toEqual(DARK);
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);

  test('a stored value that is not a theme is ignored', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await openModulePage(page, html);
      await page.evaluate(() => localStorage.setItem('sysmonstm-theme', 'purple'));
      await page.reload();
      await page.evaluate(() => window.theme.initTheme());
      expect(await applied(page)).toEqual({ data: 'dark', scheme: 'dark', current: 'dark' });
      await page.emulateMedia({ colorScheme: 'light' });
      await expect.poll(async () => (await applied(page)).current).toBe('light');
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
