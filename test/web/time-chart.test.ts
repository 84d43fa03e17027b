// web/src/time-chart.ts on its own in a real browser (playwright-core + Debian Chromium): the module
// and the dashboard's styles bundled with esbuild into one page, a chart created with known data, and
// what it draws read back from its canvas and its DOM: the x axis spans the given range (or the minute
// before a single sample), the y axis is fixed or has headroom over the data, the legend uses the
// chart's format and shows the newest row that has a value, a gap in the data is a gap in the line, a
// drag zooms (itself, or through onZoom) and "Reset zoom" undoes it, a theme change redraws in the
// other palette, and destroy removes it. Screenshot in test-output/screenshots/time-chart.png.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { createTimeChart, TimeChart } from '../../web/src/time-chart.ts';
import type { toggleTheme } from '../../web/src/theme.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR, type GuardedPage } from '../support/dashboard-checks.ts';
import { modulePage } from './module-page.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
/** --series-1 of the dark and the light theme (web/src/styles.css). */
const DARK_SERIES_1: Rgb = [0x58, 0xa6, 0xff];
const LIGHT_SERIES_1: Rgb = [0x09, 0x69, 0xda];
/** Seconds: the chart's time axis. */
const T0 = 1_800_000_000;

type Rgb = [number, number, number];
interface Harness {
  createTimeChart: typeof createTimeChart;
  toggleTheme: typeof toggleTheme;
  chart?: TimeChart;
  zooms: Array<[number, number] | undefined>;
}
declare global {
  interface Window {
    harness: Harness;
  }
}

/** One page holding the dashboard's CSS and the chart module, exposed as window.harness. */
const bundle = () =>
  modulePage(
    [
      "import 'uplot/dist/uPlot.min.css';",
      "import './styles.css';",
      "import { createTimeChart } from './time-chart.ts';",
      "import { toggleTheme } from './theme.ts';",
      'window.harness = { createTimeChart, toggleTheme, zooms: [] };',
    ],
    '<main style="width: 640px; padding: 16px"><div id="host"></div></main>',
  );

/** A chart of one series (values formatted as "12.0 %") on a fresh page, given data and options. */
async function openChart(page: Page, html: string, setup: { xs: number[]; ys: Array<number | null>; rangeS?: [number, number]; yMax?: number; onZoom?: boolean }): Promise<void> {
  await page.setContent(html);
  await page.evaluate((s) => {
    const h = window.harness;
    h.chart = h.createTimeChart(document.getElementById('host')!, {
      title: 'CPU',
      series: [{ label: 'CPU' }],
      format: (v) => `${v.toFixed(1)} %`,
      yMax: s.yMax,
      onZoom: s.onZoom ? (range) => h.zooms.push(range) : undefined,
    });
    h.chart.setData([s.xs, s.ys], s.rangeS ? [s.rangeS[0] * 1000, s.rangeS[1] * 1000] : undefined);
  }, setup);
  await page.waitForFunction(() => document.querySelector('.chart')?.getAttribute('data-x-min-ms') !== '');
}

const dataset = (name: string) => page().locator('.chart').getAttribute(`data-${name}`);
let current: GuardedPage | undefined;
const page = () => current!.page;

/**
 * Where the plot area (uPlot's .u-over box on its canvas) has opaque pixels within `tolerance` of
 * `rgb`: how many per pixel column, and the highest and lowest such row as a fraction of the height
 * (0 = top), so what the line covers can be told from what it leaves empty.
 */
async function pixelsOfColour(rgb: Rgb, tolerance = 40): Promise<{ columns: number[]; top: number; bottom: number }> {
  return page().evaluate(
    ({ rgb, tolerance }) => {
      const canvas = document.querySelector<HTMLCanvasElement>('.chart canvas')!;
      const over = document.querySelector<HTMLElement>('.chart .u-over')!;
      const c = canvas.getBoundingClientRect();
      const o = over.getBoundingClientRect();
      const scale = canvas.width / c.width;
      const left = Math.round((o.left - c.left) * scale);
      const top = Math.round((o.top - c.top) * scale);
      const width = Math.round(o.width * scale);
      const height = Math.round(o.height * scale);
      const pixels = canvas.getContext('2d')!.getImageData(left, top, width, height).data;
      const columns = new Array<number>(width).fill(0);
      let topRow = height;
      let bottomRow = -1;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4;
          const d = Math.abs(pixels[i] - rgb[0]) + Math.abs(pixels[i + 1] - rgb[1]) + Math.abs(pixels[i + 2] - rgb[2]);
          if (pixels[i + 3] > 200 && d <= tolerance) {
            columns[x]++;
            topRow = Math.min(topRow, y);
            bottomRow = Math.max(bottomRow, y);
          }
        }
      }
      return { columns, top: topRow / height, bottom: bottomRow / height };
    },
    { rgb, tolerance },
  );
}

const columnsOfColour = async (rgb: Rgb) => (await pixelsOfColour(rgb)).columns;

/** The plot column (0 … width − 1) a time (seconds) is drawn at, from the shown range. */
async function columnOf(tS: number): Promise<number> {
  const min = Number(await dataset('x-min-ms')) / 1000;
  const max = Number(await dataset('x-max-ms')) / 1000;
  const width = await page().evaluate(() => Math.round(document.querySelector('.chart .u-over')!.getBoundingClientRect().width));
  return Math.round(((tS - min) / (max - min)) * (width - 1));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe.skipIf(!hasChromium)('createTimeChart', () => {
  let browser: Browser;
  let html: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    html = await bundle();
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function withPage(colorScheme: 'dark' | 'light', run: () => Promise<void>): Promise<void> {
    current = await openGuardedPage(browser, { viewport: { width: 700, height: 400 }, colorScheme });
    try {
      await run();
      expect(current.problems).toEqual([]);
    } finally {
      await current.close();
      current = undefined;
    }
  }

  // 0 … 59 s values, 60 … 119 s a gap (nulls), 120 … 179 s values; the newest row is a gap too.
  const xs = Array.from({ length: 181 }, (_, i) => T0 + i);
  const ys = xs.map((_, i) => (i === 180 || (i >= 60 && i < 120) ? null : 20 + (i % 60) / 2));

  test('the range, the format, the readout, and a gap drawn as a gap', async () => {
    await withPage('dark', async () => {
      await openChart(page(), html, { xs, ys, rangeS: [T0 - 120, T0 + 240], yMax: 100 });
      expect(await page().locator('.chart-title').textContent()).toBe('CPU');
      // Points and gaps are rows with and without a value.
      expect(await dataset('points')).toBe('120');
      expect(await dataset('gaps')).toBe('61');
      expect(await dataset('first-ms')).toBe(String(T0 * 1000));
      // The x axis spans the range given, not the data's own.
      expect(await dataset('x-min-ms')).toBe(String((T0 - 120) * 1000));
      expect(await dataset('x-max-ms')).toBe(String((T0 + 240) * 1000));
      expect(await dataset('zoomed')).toBeFalsy();
      expect(await page().locator('.chart-reset').isHidden()).toBe(true);
      // The legend reads out the newest row with a value (179 s: 20 + 59/2), in the chart's format.
      const legendValue = page().locator('.chart .u-legend .u-series').nth(1).locator('.u-value');
      expect(await legendValue.textContent()).toBe('49.5 %');
      // Drawn: the series colour along the data, nothing in the gap or outside the data; with the y
      // axis fixed at 0 … 100, values 20 … 49.5 lie between half and four fifths down the plot.
      const drawn = await pixelsOfColour(DARK_SERIES_1);
      expect(drawn.top).toBeGreaterThan(0.47);
      expect(drawn.top).toBeLessThan(0.53);
      expect(drawn.bottom).toBeGreaterThan(0.77);
      expect(drawn.bottom).toBeLessThan(0.83);
      const cols = drawn.columns;
      const [a0, a1, g0, g1, b0, b1] = await Promise.all([T0 + 5, T0 + 55, T0 + 65, T0 + 115, T0 + 125, T0 + 175].map(columnOf));
      expect(sum(cols.slice(a0, a1))).toBeGreaterThan(a1 - a0);
      expect(sum(cols.slice(b0, b1))).toBeGreaterThan(b1 - b0);
      expect(sum(cols.slice(g0, g1))).toBe(0);
      expect(sum(cols.slice(0, await columnOf(T0 - 5)))).toBe(0);
      expect(sum(cols.slice(await columnOf(T0 + 185)))).toBe(0);
      await page().screenshot({ path: path.join(SCREENSHOT_DIR, 'time-chart.png') });
    });
  }, 60_000);

  test('one sample: the minute before it, and an automatic y range with headroom', async () => {
    await withPage('dark', async () => {
      await openChart(page(), html, { xs: [T0], ys: [40] });
      expect(await dataset('points')).toBe('1');
      expect(await dataset('x-min-ms')).toBe(String((T0 - 60) * 1000));
      expect(await dataset('x-max-ms')).toBe(String((T0 + 1) * 1000));
      // The sample is marked (a line needs two), in the series colour, at 40 on a 0 … 46 axis (40 ×
      // 1.15 headroom): about an eighth down the plot, at the right edge (the sample ends the range).
      const drawn = await pixelsOfColour(DARK_SERIES_1);
      const middle = (drawn.top + drawn.bottom) / 2;
      expect(middle).toBeGreaterThan(0.1);
      expect(middle).toBeLessThan(0.16);
      expect(sum(drawn.columns.slice(0, await columnOf(T0 - 1)))).toBe(0);
      expect(sum(drawn.columns)).toBeGreaterThan(0);
      expect(await page().locator('.chart .u-legend .u-series').nth(1).locator('.u-value').textContent()).toBe('40.0 %');
    });
  }, 60_000);

  test('a drag zooms the chart itself; "Reset zoom" brings the range back', async () => {
    await withPage('dark', async () => {
      await openChart(page(), html, { xs, ys, rangeS: [T0, T0 + 180] });
      const over = (await page().locator('.chart .u-over').boundingBox())!;
      const y = over.y + over.height / 2;
      await page().mouse.move(over.x + over.width * 0.25, y);
      await page().mouse.down();
      await page().mouse.move(over.x + over.width * 0.5, y, { steps: 5 });
      await page().mouse.up();
      await expect.poll(() => dataset('zoomed')).toBe('true');
      expect(await page().locator('.chart-reset').isVisible()).toBe(true);
      // About the dragged quarter to half of 180 s (a pixel is ~0.3 s).
      const min = Number(await dataset('x-min-ms')) / 1000 - T0;
      const max = Number(await dataset('x-max-ms')) / 1000 - T0;
      expect(min).toBeGreaterThan(44);
      expect(min).toBeLessThan(46);
      expect(max).toBeGreaterThan(89);
      expect(max).toBeLessThan(91);
      await page().locator('.chart-reset').click();
      expect(await dataset('zoomed')).toBe('false');
      expect(await page().locator('.chart-reset').isHidden()).toBe(true);
      expect(await dataset('x-min-ms')).toBe(String(T0 * 1000));
      expect(await dataset('x-max-ms')).toBe(String((T0 + 180) * 1000));
    });
  }, 60_000);

  test('with onZoom, a drag and "Reset zoom" are reported and the page decides', async () => {
    await withPage('dark', async () => {
      await openChart(page(), html, { xs, ys, rangeS: [T0, T0 + 180], onZoom: true });
      const over = (await page().locator('.chart .u-over').boundingBox())!;
      const y = over.y + over.height / 2;
      await page().mouse.move(over.x + over.width * 0.5, y);
      await page().mouse.down();
      await page().mouse.move(over.x + over.width * 0.75, y, { steps: 5 });
      await page().mouse.up();
      await expect.poll(() => page().evaluate(() => window.harness.zooms.length)).toBe(1);
      const [from, to] = (await page().evaluate(() => window.harness.zooms[0]))!;
      expect(from / 1000 - T0).toBeGreaterThan(89);
      expect(from / 1000 - T0).toBeLessThan(91);
      expect(to / 1000 - T0).toBeGreaterThan(134);
      expect(to / 1000 - T0).toBeLessThan(136);
      // Not zoomed until the page says so.
      expect(await dataset('zoomed')).toBeFalsy();
      expect(await dataset('x-min-ms')).toBe(String(T0 * 1000));
      await page().evaluate(() => window.harness.chart!.setZoom([1_800_000_100_000, 1_800_000_150_000]));
      expect(await dataset('zoomed')).toBe('true');
      expect(await dataset('x-min-ms')).toBe(String((T0 + 100) * 1000));
      expect(await dataset('x-max-ms')).toBe(String((T0 + 150) * 1000));
      await page().locator('.chart-reset').click();
      expect(await page().evaluate(() => window.harness.zooms)).toEqual([[from, to], undefined]);
      // The reset was only reported: the zoom stays until the page lifts it.
      expect(await dataset('zoomed')).toBe('true');
    });
  }, 60_000);

  test('a theme change redraws in the other palette; destroy removes the chart', async () => {
    await withPage('dark', async () => {
      await openChart(page(), html, { xs, ys, rangeS: [T0, T0 + 180] });
      expect(sum(await columnsOfColour(DARK_SERIES_1))).toBeGreaterThan(100);
      expect(sum(await columnsOfColour(LIGHT_SERIES_1))).toBe(0);
      expect(await page().evaluate(() => window.harness.toggleTheme())).toBe('light');
      expect(sum(await columnsOfColour(LIGHT_SERIES_1))).toBeGreaterThan(100);
      expect(sum(await columnsOfColour(DARK_SERIES_1))).toBe(0);
      // Rebuilt with the same data and range.
      expect(await dataset('x-min-ms')).toBe(String(T0 * 1000));
      expect(await page().locator('.chart canvas').count()).toBe(1);
      await page().evaluate(() => window.harness.chart!.destroy());
      expect(await page().locator('.chart').count()).toBe(0);
      // A later theme change does not bring it back or throw.
      await page().evaluate(() => window.harness.toggleTheme());
      expect(await page().locator('.chart, canvas').count()).toBe(0);
    });
  }, 60_000);
});
