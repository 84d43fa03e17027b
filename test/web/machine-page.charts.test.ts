// The machine page's charts in a real browser against a real hub (in process, local PostgreSQL):
// history with a hole is drawn with gaps, the x axis spans the chosen range though the data fills
// only part of it (15 min, 24 h, 30 d), the caption counts the points shown, dragging zooms every
// chart and "Reset zoom" undoes it, the range is in the URL and a reload keeps it, and per-core CPU is
// a live 5-minute chart. Screenshots in test-output/screenshots/charts-*.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINE = 'chart-m1';
const MIN = 60_000;

describe.skipIf(!hasChromium)('machine charts in the browser', () => {
  let web: WebHub;
  let base: string;
  let stored = 0;

  beforeAll(async () => {
    web = await startWebHub({ name: 'machine-charts', dashboard: true, env: { HISTORY_FLUSH_INTERVAL: '0.05' } });
    base = web.base;
    // Stored history, one row a second: 14 to 9 minutes ago, then a 2-minute hole, then 7 to 3 minutes ago.
    const pool = new pg.Pool({ connectionString: web.db.url, max: 1 });
    const now = Date.now();
    const spans: Array<[number, number]> = [
      [now - 14 * MIN, now - 9 * MIN],
      [now - 7 * MIN, now - 3 * MIN],
    ];
    let seq = 0;
    for (const [from, to] of spans) {
      const { rowCount } = await pool.query(
        `INSERT INTO metrics (time, machine_id, seq, cpu_percent, memory_percent, swap_percent, load_avg_1m, network_recv_bytes_sec, disk_read_bytes_sec)
         SELECT to_timestamp(t / 1000.0), $1, $2 + row_number() OVER (), 30 + 20 * sin(t / 30000.0), 50, 5, 0.5, 2000, 1000
         FROM generate_series($3::bigint, $4::bigint - 1, 1000) AS t`,
        [MACHINE, seq, from, to],
      );
      seq += rowCount ?? 0;
      stored += rowCount ?? 0;
    }
    await pool.end();
    // And the machine reporting live, every second.
    web.feed(MACHINE, { everyMs: 1000, report: (m, n) => syntheticReport(m, 100_000 + n, Date.now(), 40) });
    await waitFor('the machine', async () => (await web.getJson<Array<{ id: string }>>('/api/machines')).some((m) => m.id === MACHINE));
  }, 90_000);

  afterAll(() => web?.close());

  const cpuChart = (page: Page) => page.locator('.chart', { has: page.locator('.chart-title', { hasText: /^CPU$/ }) });
  const xSpan = async (page: Page) => {
    const c = cpuChart(page);
    return [Number(await c.getAttribute('data-x-min-ms')), Number(await c.getAttribute('data-x-max-ms'))];
  };

  test('15 min: gaps, the full range on the axis, points counted, zoom and reset, range in the URL', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 1000 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/#/machine/${MACHINE}`);
      await page.locator('.range', { hasText: '15 m' }).click();
      await expect.poll(() => page.evaluate(() => window.location.hash)).toBe(`#/machine/${MACHINE}?range=15m`);
      await expect.poll(() => page.locator('.chart-status').textContent(), { timeout: 15_000 }).toMatch(/points per series · step raw · data from/);
      const [min, max] = await xSpan(page);
      expect(Math.abs(max - Date.now())).toBeLessThan(10_000);
      expect(max - min).toBeGreaterThan(15 * MIN - 5_000);
      expect(max - min).toBeLessThan(15 * MIN + 5_000);
      // The 2-minute hole and the 3 minutes before the live points are gaps, not lines.
      expect(Number(await cpuChart(page).getAttribute('data-gaps'))).toBeGreaterThanOrEqual(2);
      // The caption counts what the CPU chart shows: the stored rows plus the live ones since.
      const shown = Number(await cpuChart(page).getAttribute('data-points'));
      const counted = Number(await page.locator('.charts').getAttribute('data-history-points'));
      expect(counted).toBe(shown);
      expect(shown).toBeGreaterThanOrEqual(stored);
      expect(shown).toBeLessThan(stored + 60);
      expect(await page.locator('.chart-status').textContent()).toContain(`${counted.toLocaleString('en-US')} points per series`);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'charts-15m-gaps.png'), fullPage: true });

      // Drag across the middle of the CPU chart: every range chart zooms to that span.
      const over = cpuChart(page).locator('.u-over');
      const box = (await over.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 8 });
      await page.mouse.up();
      await expect.poll(() => page.locator('.chart[data-zoomed="true"]').count()).toBe(5);
      const [zMin, zMax] = await xSpan(page);
      expect(zMax - zMin).toBeGreaterThan(3 * MIN);
      expect(zMax - zMin).toBeLessThan(6 * MIN);
      expect(zMin).toBeGreaterThan(min + 2 * MIN);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'charts-15m-zoomed.png') });
      await cpuChart(page).locator('.chart-reset').click();
      await expect.poll(() => page.locator('.chart[data-zoomed="true"]').count()).toBe(0);
      const [rMin, rMax] = await xSpan(page);
      expect(rMax - rMin).toBeGreaterThan(15 * MIN - 5_000);

      // Per-core CPU: live, over the last 5 minutes.
      const perCore = page.locator('.chart', { has: page.locator('.chart-title', { hasText: 'CPU per core (2, live: last 5 min)' }) });
      await expect.poll(() => perCore.count(), { timeout: 10_000 }).toBe(1);
      const pMin = Number(await perCore.getAttribute('data-x-min-ms'));
      const pMax = Number(await perCore.getAttribute('data-x-max-ms'));
      expect(Math.abs(pMax - pMin - 5 * MIN)).toBeLessThan(5_000);
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);

  test('24 h and 30 d from a link: the axis spans the range though the data covers minutes', async () => {
    for (const [range, spanMs, label] of [
      ['24h', 24 * 60 * MIN, '24 h'],
      ['30d', 30 * 24 * 60 * MIN, '30 d'],
    ] as const) {
      const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
      try {
        const { page } = g;
        await page.goto(`${base}/#/machine/${MACHINE}?range=${range}`);
        expect(await page.locator('.range', { hasText: label }).getAttribute('aria-pressed')).toBe('true');
        await expect.poll(() => page.locator('.chart-status').textContent(), { timeout: 15_000 }).toMatch(/points? per series · step (1m|1h) · data from/);
        const [min, max] = await xSpan(page);
        expect(Math.abs(max - min - spanMs)).toBeLessThan(spanMs / 100);
        expect(Math.abs(max - Date.now())).toBeLessThan(spanMs / 100 + 10_000);
        const shown = Number(await cpuChart(page).getAttribute('data-points'));
        expect(Number(await page.locator('.charts').getAttribute('data-history-points'))).toBe(shown);
        expect(shown).toBeGreaterThanOrEqual(1);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `charts-${range}.png`) });
        expect(g.problems).toEqual([]);
      } finally {
        await g.close();
      }
    }
  }, 60_000);
});
