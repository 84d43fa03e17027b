// web/src/sparkline.ts on its own in a real browser: what drawSparkline puts on a canvas, read back
// pixel by pixel — the canvas sized to the CSS size × device pixel ratio (at most 2), the line from
// the first to the last time across the width, values scaled to maxValue and clamped, a faint fill
// under it, samples without a value skipped, and a blank canvas for fewer than two points or a zero size.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { drawSparkline } from '../../web/src/sparkline.ts';
import { CHROMIUM_PATH, launchBrowser } from '../support/dashboard-checks.ts';
import { modulePage } from './module-page.ts';

const hasChromium = existsSync(CHROMIUM_PATH);

declare global {
  interface Window {
    spark: { drawSparkline: typeof drawSparkline; canvas: HTMLCanvasElement };
  }
}

interface Drawing {
  width: number;
  height: number;
  /** Per column: rows (top = 0) where the line colour is (nearly) opaque. */
  lineRows: number[][];
  /** Per column: how many faint (fill) pixels there are. */
  fillCount: number[];
}

describe.skipIf(!hasChromium)('drawSparkline', () => {
  let browser: Browser;
  let html: string;

  beforeAll(async () => {
    html = await modulePage(["import { drawSparkline } from './sparkline.ts';", "window.spark = { drawSparkline, canvas: document.querySelector('canvas') };"], '<canvas style="width: 100px; height: 40px"></canvas>');
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function draw(page: Page, args: { size?: { width: number; height: number }; times: number[]; values: Array<number | null>; maxValue?: number }): Promise<Drawing> {
    return page.evaluate(({ size, times, values, maxValue }) => {
      const { canvas } = window.spark;
      window.spark.drawSparkline(canvas, size ?? { width: 100, height: 40 }, times, values, 'rgb(255, 0, 0)', maxValue);
      const { width, height } = canvas;
      const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
      const lineRows: number[][] = Array.from({ length: width }, () => []);
      const fillCount = new Array<number>(width).fill(0);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4;
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
          if (r > 200 && g < 60 && b < 60 && a > 180) lineRows[x].push(y);
          else if (a > 20 && a < 60 && r > 200) fillCount[x]++;
        }
      }
      return { width, height, lineRows, fillCount };
    }, args);
  }

  const middleRow = (rows: number[]) => (rows.length ? (Math.min(...rows) + Math.max(...rows)) / 2 : NaN);
  const painted = (d: Drawing) => d.lineRows.some((r) => r.length > 0) || d.fillCount.some((n) => n > 0);

  async function withPage(deviceScaleFactor: number, run: (page: Page) => Promise<void>): Promise<void> {
    // openGuardedPage's checks, with a chosen device pixel ratio.
    const context = await browser.newContext({ viewport: { width: 300, height: 200 }, deviceScaleFactor });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
    page.on('dialog', (d) => problems.push(`a dialog opened: ${d.message()}`));
    try {
      await page.setContent(html);
      await run(page);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }

  test('a rising line across the width, a fill under it, values clamped to 0 … maxValue', async () => {
    await withPage(1, async (page) => {
      // 0 % at t = 0 up to 100 % at t = 10: from the bottom left to the top right.
      const rising = await draw(page, { times: [0, 5, 10], values: [0, 50, 100] });
      expect([rising.width, rising.height]).toEqual([100, 40]);
      const pad = 1.5;
      const rowAt = (v: number, max = 100) => 40 - pad - (v / max) * (40 - 2 * pad);
      expect(Math.abs(middleRow(rising.lineRows[2]) - rowAt(0))).toBeLessThanOrEqual(2.5);
      expect(Math.abs(middleRow(rising.lineRows[50]) - rowAt(50))).toBeLessThanOrEqual(2);
      expect(Math.abs(middleRow(rising.lineRows[97]) - rowAt(100))).toBeLessThanOrEqual(2.5);
      // Nothing beyond the padding on either side; a fill below the line, none above it.
      expect(rising.lineRows[0]).toEqual([]);
      expect(rising.lineRows[99]).toEqual([]);
      expect(rising.fillCount[75]).toBeGreaterThan(15);
      const lineTop = Math.min(...rising.lineRows[25]);
      expect(rising.fillCount[25]).toBeLessThanOrEqual(40 - lineTop);

      // maxValue scales; values outside 0 … maxValue are clamped to the edges.
      const scaled = await draw(page, { times: [0, 10], values: [20, 20], maxValue: 40 });
      expect(Math.abs(middleRow(scaled.lineRows[50]) - rowAt(20, 40))).toBeLessThanOrEqual(1.5);
      const clamped = await draw(page, { times: [0, 10], values: [250, 250] });
      expect(Math.abs(middleRow(clamped.lineRows[50]) - rowAt(100))).toBeLessThanOrEqual(1.5);
      const negative = await draw(page, { times: [0, 10], values: [-30, -30] });
      expect(Math.abs(middleRow(negative.lineRows[50]) - rowAt(0))).toBeLessThanOrEqual(1.5);
    });
  }, 60_000);

  test('samples without a value are skipped; the line starts at the first value', async () => {
    await withPage(1, async (page) => {
      // Nothing until t = 5: the line spans only the right half of the time axis.
      const late = await draw(page, { times: [0, 5, 10], values: [null, 50, 50] });
      expect(late.lineRows.slice(0, 45).every((r) => r.length === 0)).toBe(true);
      expect(late.fillCount.slice(0, 45).every((n) => n === 0)).toBe(true);
      expect(late.lineRows[75].length).toBeGreaterThan(0);
      // A missing value in the middle: the line goes from its neighbours straight across.
      const hole = await draw(page, { times: [0, 5, 10], values: [20, null, 80] });
      expect(Math.abs(middleRow(hole.lineRows[50]) - (40 - 1.5 - 0.5 * 37))).toBeLessThanOrEqual(2);
    });
  }, 60_000);

  test('fewer than two points, or no value at all, leave the canvas blank; a zero size draws nothing', async () => {
    await withPage(1, async (page) => {
      expect(painted(await draw(page, { times: [0, 10], values: [50, 50] }))).toBe(true);
      expect(painted(await draw(page, { times: [0], values: [50] }))).toBe(false);
      expect(painted(await draw(page, { times: [0, 10], values: [50, 50] }))).toBe(true);
      expect(painted(await draw(page, { times: [0, 10], values: [null, null] }))).toBe(false);
      // A zero size leaves the canvas as it was (not resized, not cleared).
      await draw(page, { times: [0, 10], values: [50, 50] });
      const untouched = await draw(page, { size: { width: 0, height: 40 }, times: [], values: [] });
      expect([untouched.width, untouched.height]).toEqual([100, 40]);
      expect(painted(untouched)).toBe(true);
    });
  }, 60_000);

  test('the canvas follows the device pixel ratio, at most 2', async () => {
    await withPage(2, async (page) => {
      const d = await draw(page, { times: [0, 10], values: [50, 50] });
      expect([d.width, d.height]).toEqual([200, 80]);
      // The line is as thick in CSS pixels: about twice as many device rows.
      expect(d.lineRows[100].length).toBeGreaterThanOrEqual(2);
      expect(Math.abs(middleRow(d.lineRows[100]) - (80 - 3 - 0.5 * 74))).toBeLessThanOrEqual(2);
    });
    await withPage(3, async (page) => {
      const d = await draw(page, { times: [0, 10], values: [50, 50] });
      expect([d.width, d.height]).toEqual([200, 80]);
    });
  }, 60_000);
});
