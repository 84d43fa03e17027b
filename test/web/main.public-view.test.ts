// A public view's page in a real browser (playwright-core + Debian Chromium) on the real Worker
// (`wrangler dev` with web/dist), fed by a raw hub socket per the contract: the page at /v/{slug}?key=…
// shows the view's title, cards with only the view's metrics and an uptime bar each, the "live data
// paused" banner when the hub falls silent (cleared when it returns), and says so when the link is
// wrong or the view is revoked. Screenshots at desktop and phone widths go to test-output/screenshots.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../web/build.ts';
import { LIVE_METRICS } from '../../proto/delta.ts';
import { linkKeyHash } from '../../durable-objects/view-access.ts';
import { machine, relayStats, TestHub, waitFor } from '../edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../edge/wrangler-dev.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const SECRET = 'Zq8vN3kP0wR5tY7uB2xC4mL6';
const METRICS = ['cpu_percent', 'memory_percent', 'network_recv_bytes_sec'] as const;
let browser: Browser;
let dev: WranglerDev;
let hub: TestHub;
let pusher: ReturnType<typeof setInterval> | undefined;

const NAMES = ['Build farm 1', 'Build farm 2', 'Web edge a', 'Web edge b', 'Database primary', 'Database replica', 'Cache', `Machine m3fa9c1`];
const fleet = (round: number) =>
  NAMES.map((name, i) =>
    machine(`m${i}00000000000000`.slice(0, 17), { cpu_percent: (round * 13 + i * 17) % 100, memory_percent: 30 + i * 7, network_recv_bytes_sec: 12_000 * (i + 1) + round }, { name, host: '', labels: {}, status: i === 5 ? 'warning' : 'healthy', lastSeen: Date.now() }),
  );

function startPushing(): void {
  let round = 0;
  pusher = setInterval(() => {
    round++;
    hub.sendDelta(fleet(round).map((m) => [m.id, 0, { 0: m.values.cpu_percent!, 4: m.values.network_recv_bytes_sec! }]), [], Date.now());
  }, 500);
}
function stopPushing(): void {
  clearInterval(pusher);
  pusher = undefined;
}

beforeAll(async () => {
  if (!hasChromium) return;
  await ensureWebBuilt();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  dev = await startWranglerDev({ vars: { HUB_SILENT_AFTER_MS: '2000', CHECKPOINT_INTERVAL_MS: '500' } });
  browser = await launchBrowser();
  hub = await TestHub.forView(dev.ingestUrl, dev.hubToken, 'ops', {
    title: 'Ops fleet',
    access: 'link',
    keyHash: await linkKeyHash(SECRET),
    metrics: METRICS.map((m) => LIVE_METRICS.indexOf(m)),
  });
  hub.sendSnapshot(fleet(0), Date.now());
  await waitFor('the view fed', async () => (await relayStats(dev.url, dev.hubToken, ['ops']))[0].machines === NAMES.length);
}, 90_000);
afterAll(async () => {
  stopPushing();
  await hub?.close();
  await browser?.close();
  await dev?.stop();
});

describe.skipIf(!hasChromium)('a public view page', () => {
  for (const [label, viewport] of [
    ['desktop', { width: 1280, height: 860 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`shows the title, the view's metrics, uptime bars and the paused banner (${label})`, async () => {
      startPushing();
      const g = await openGuardedPage(browser, { viewport, colorScheme: 'dark' });
      try {
        const { page } = g;
        await page.goto(`${dev.url}/v/ops?key=${SECRET}`);
        await page.waitForFunction(() => document.querySelectorAll('.card').length === 8, undefined, { timeout: 15_000 });
        expect(await page.textContent('.view-title')).toBe('Ops fleet');
        expect(await page.title()).toBe('Ops fleet · sysmonstm');
        // every card on screen has its bar (off-screen cards catch up when scrolled in)
        await page.waitForFunction(() => !(document.querySelector('.card .uptime') as HTMLElement).hidden, undefined, { timeout: 10_000 });
        // only the view's metrics: CPU, memory and "In"; disk, load and "Out" are hidden
        const shown = await page.$eval('.card', (card) =>
          [...card.querySelectorAll(':is(.meter, .stats > div)')].filter((c) => (c as HTMLElement).offsetParent !== null).map((c) => c.querySelector('dt')?.textContent),
        );
        expect(shown).toEqual(['CPU', 'Mem', 'In']);
        const bar = await page.$eval('.uptime-bar', (b) => getComputedStyle(b).backgroundImage);
        expect(bar).toContain('linear-gradient');
        expect(await page.isVisible('.paused-banner')).toBe(false);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `public-view-${label}.png`), fullPage: label === 'phone' });

        stopPushing();
        await page.waitForSelector('.paused-banner:not([hidden])', { timeout: 10_000 });
        expect(await page.textContent('.paused-banner')).toMatch(/^live data paused: the hub was last heard \d+ s ago$/);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `public-view-paused-${label}.png`) });
        startPushing();
        await page.waitForSelector('.paused-banner', { state: 'hidden', timeout: 10_000 });
        expect(g.problems).toEqual([]);
      } finally {
        stopPushing();
        await g.close();
      }
    }, 60_000);
  }

  it('says so when the link key is wrong, and when the owner revokes the view', async () => {
    const wrong = await openGuardedPage(browser, { viewport: { width: 1280, height: 700 }, colorScheme: 'light' });
    try {
      await wrong.page.goto(`${dev.url}/v/ops?key=not-the-key`);
      await wrong.page.waitForSelector('.view-ended:not([hidden])', { timeout: 15_000 });
      expect(await wrong.page.textContent('.view-ended')).toMatch(/no such view, or this link is not valid/);
      expect(await wrong.page.$$('.card')).toHaveLength(0);
    } finally {
      await wrong.close();
    }
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 700 }, colorScheme: 'light' });
    try {
      await g.page.goto(`${dev.url}/v/ops?key=${SECRET}`);
      await g.page.waitForFunction(() => document.querySelectorAll('.card').length === 8, undefined, { timeout: 15_000 });
      hub.sendRevoke('ops');
      await g.page.waitForSelector('.view-ended:not([hidden])', { timeout: 10_000 });
      expect(await g.page.textContent('.view-ended')).toBe('This view was removed by its owner.');
      expect(await g.page.evaluate(() => document.body.dataset.conn)).toBe('ended'); // no green "live" dot
      await g.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'public-view-revoked.png') });
    } finally {
      await g.close();
    }
  }, 60_000);
});
