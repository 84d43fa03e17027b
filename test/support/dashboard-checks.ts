// The browser checks every deployment of the dashboard must pass, written once and pointed at a URL:
// the synthetic fleet server (test/web/main.read-only.test.ts), the hub and a Worker (`wrangler dev`,
// mode 'edge') in test/e2e/full-chain.test.ts. Uses playwright-core with the system Chromium;
// screenshots go to test-output/screenshots.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-output/screenshots');
export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page that records what must never happen: dialogs (a script ran), console errors, uncaught exceptions. */
export interface GuardedPage {
  page: Page;
  context: BrowserContext;
  problems: string[];
  close(): Promise<void>;
}

export async function openGuardedPage(
  browser: Browser,
  opts: { viewport: { width: number; height: number }; colorScheme: 'dark' | 'light' },
): Promise<GuardedPage> {
  const context = await browser.newContext({ viewport: opts.viewport, colorScheme: opts.colorScheme, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`a dialog opened (script injection?): ${d.type()} "${d.message()}"`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  return { page, context, problems, close: () => context.close() };
}

export interface DashboardCheckOptions {
  /** Display name of a machine that reports to this deployment. */
  machineName: string;
  /** 'hub' expects history from the API; 'edge' expects the read-only page with live-only charts. */
  mode: 'hub' | 'edge';
  /** File name prefix for screenshots, e.g. "hub" or "worker". */
  label: string;
  timeoutMs?: number;
}

export interface DashboardCheckResult {
  machineId: string;
  /** Points the CPU chart showed (history for the hub, live samples for the edge). */
  chartPoints: number;
  screenshots: string[];
}

const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 360, height: 740 } },
] as const;

async function cardMetricsText(page: Page, name: string): Promise<string> {
  return page.locator('.card', { has: page.locator('.card-name', { hasText: name }) }).first().locator('.meters, .stats').allInnerTexts().then((t) => t.join(' | '));
}

/**
 * Opens the dashboard at baseUrl and asserts: the machine appears with live values that change; its
 * hostile-looking name is text (no element, no dialog); the machine view shows a CPU chart with points
 * (from the history API on the hub) and the range controls the mode allows; the page never logs an error.
 * Saves desktop and 360 px screenshots in both themes.
 */
export async function checkDashboard(browser: Browser, baseUrl: string, options: DashboardCheckOptions): Promise<DashboardCheckResult> {
  const timeout = options.timeoutMs ?? 20_000;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const screenshots: string[] = [];
  const shot = async (page: Page, name: string, fullPage = false) => {
    const file = path.join(SCREENSHOT_DIR, `${options.label}-${name}.png`);
    await page.screenshot({ path: file, fullPage });
    screenshots.push(file);
  };

  // ---- fleet view, desktop, dark ---------------------------------------------------------------
  const g = await openGuardedPage(browser, { viewport: VIEWPORTS[0].viewport, colorScheme: 'dark' });
  const { page } = g;
  let machineId = '';
  let chartPoints = 0;
  try {
    await page.goto(`${baseUrl}/`);
    await expect.poll(() => page.locator('.conn-text').textContent(), { timeout, message: 'connection state reaches Live' }).toBe('Live');
    await expect
      .poll(() => page.locator('.mode-badge').textContent(), { timeout, message: 'mode badge' })
      .toBe(options.mode === 'hub' ? 'Hub' : 'Public · read-only');

    const nameCell = page.locator('.card-name', { hasText: options.machineName }).first();
    await nameCell.waitFor({ timeout });
    // The name is text, exactly as sent, and nothing from it became markup.
    expect(await nameCell.textContent()).toBe(options.machineName);
    expect(await nameCell.evaluate((n) => n.childElementCount)).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);

    // Live values that change (CPU, memory, network... move within a few intervals).
    const first = await cardMetricsText(page, options.machineName);
    expect(first).toMatch(/\d/);
    await expect.poll(() => cardMetricsText(page, options.machineName), { timeout, interval: 250, message: 'card values change' }).not.toBe(first);
    await expect.poll(() => page.locator('.card', { has: nameCell }).locator('.card-ago').textContent(), { timeout }).toMatch(/just now|\d+ s ago/);

    // Filtering by name keeps it, a nonsense filter hides it, status chips count it.
    await page.locator('.search').fill(options.machineName.slice(0, 6));
    await expect.poll(() => page.locator('.card-name', { hasText: options.machineName }).count()).toBeGreaterThan(0);
    await page.locator('.search').fill('zz-no-such-machine-zz');
    await expect.poll(() => page.locator('.grid .card').count()).toBe(0);
    await expect(page.locator('.empty').textContent()).resolves.toContain('No machine matches');
    await page.locator('.search').fill('');
    await expect.poll(async () => Number(await page.locator('.chip-all .chip-count').textContent()), { timeout, message: 'the All chip counts machines' }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.card-name', { hasText: options.machineName }).count(), { timeout }).toBeGreaterThan(0);

    await page.waitForTimeout(1500); // let the sparkline gather a few points
    await shot(page, 'fleet-desktop-dark');

    // ---- machine view, reached with the keyboard -------------------------------------------------
    const link = page.locator('.card', { has: page.locator('.card-name', { hasText: options.machineName }) }).first();
    const href = (await link.getAttribute('href')) ?? '';
    machineId = decodeURIComponent(href.replace(/^.*#\/machine\//, ''));
    expect(machineId).toMatch(/^[A-Za-z0-9._-]+$/);
    await link.focus();
    await page.keyboard.press('Enter');
    await page.locator('.machine-name').waitFor({ timeout });
    expect(await page.locator('.machine-name').textContent()).toBe(options.machineName);
    expect(await page.locator('.machine-name').evaluate((n) => n.childElementCount)).toBe(0);
    expect(await page.title()).toBe(`${options.machineName} · sysmonstm`);

    const cpuChart = page.locator('.chart', { has: page.locator('.chart-title', { hasText: /^CPU$/ }) });
    await cpuChart.locator('canvas').first().waitFor({ timeout });
    if (options.mode === 'hub') {
      // History from the API: pick 15 m (raw tier) and wait for points the live stream alone could not give.
      expect(await page.locator('[aria-label="Time range"] .range').count()).toBe(7);
      await page.locator('[aria-label="Time range"] .range', { hasText: '15 m' }).click();
      await expect
        .poll(
          async () => {
            const n = Number((await page.locator('.charts').getAttribute('data-history-points')) ?? 0);
            if (n < 2) {
              // The hub writes history in batches: ask again until the first batch is there.
              await page.locator('[aria-label="Time range"] .range', { hasText: 'Live' }).click();
              await page.locator('[aria-label="Time range"] .range', { hasText: '15 m' }).click();
              await page.waitForTimeout(500);
            }
            return n;
          },
          { timeout, interval: 1000, message: 'history points in the 15 m range' },
        )
        .toBeGreaterThanOrEqual(2);
      await expect.poll(() => page.locator('.chart-status').textContent()).toMatch(/points per series/);
      // Per-core CPU and the filesystem table come from the latest full report.
      await page.locator('.chart-title', { hasText: /CPU per core/ }).waitFor({ timeout });
      await page.locator('table.data-table caption', { hasText: 'Filesystems' }).waitFor({ timeout, state: 'attached' });
    } else {
      expect(await page.locator('[aria-label="Time range"] .range').count()).toBe(1);
    }
    await expect.poll(async () => Number(await cpuChart.getAttribute('data-points')), { timeout, message: 'CPU chart points' }).toBeGreaterThanOrEqual(2);
    chartPoints = Number(await cpuChart.getAttribute('data-points'));

    // Hover shows a value with its unit.
    const plot = cpuChart.locator('.u-over');
    const box = await plot.boundingBox();
    if (box) await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    await expect.poll(() => cpuChart.locator('.u-series').nth(1).locator('.u-value').textContent()).toMatch(/^\d+(\.\d)?%$/);
    await shot(page, 'machine-desktop-dark', true);

    // Theme toggle flips to light and is remembered.
    await page.locator('.theme-toggle').click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.waitForTimeout(200);
    await shot(page, 'machine-desktop-light', true);
    await page.locator('.back').click();
    await page.locator('.card-name', { hasText: options.machineName }).first().waitFor({ timeout });
    await shot(page, 'fleet-desktop-light');
    expect(g.problems).toEqual([]);
  } finally {
    await g.close();
  }

  // ---- phone, both themes, deep link to /machines/<id> on the hub --------------------------------
  for (const scheme of ['light', 'dark'] as const) {
    const p = await openGuardedPage(browser, { viewport: VIEWPORTS[1].viewport, colorScheme: scheme });
    try {
      await p.page.goto(`${baseUrl}/`);
      await p.page.locator('.card-name', { hasText: options.machineName }).first().waitFor({ timeout });
      await p.page.waitForTimeout(800);
      const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, 'no horizontal scrolling at 360 px').toBeLessThanOrEqual(0);
      await shot(p.page, `fleet-phone-${scheme}`);
      const machineUrl = options.mode === 'hub' ? `${baseUrl}/machines/${encodeURIComponent(machineId)}` : `${baseUrl}/#/machine/${encodeURIComponent(machineId)}`;
      await p.page.goto(machineUrl);
      await p.page.locator('.machine-name', { hasText: options.machineName }).waitFor({ timeout });
      await expect.poll(async () => Number(await p.page.locator('.chart').first().getAttribute('data-points')), { timeout }).toBeGreaterThanOrEqual(2);
      const machineOverflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(machineOverflow, 'no horizontal scrolling at 360 px (machine view)').toBeLessThanOrEqual(0);
      await shot(p.page, `machine-phone-${scheme}`, true);
      expect(p.problems).toEqual([]);
    } finally {
      await p.close();
    }
  }
  return { machineId, chartPoints, screenshots };
}
