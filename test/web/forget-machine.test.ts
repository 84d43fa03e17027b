// The machine page's "Forget" action in a real browser against a real hub (in process, local
// PostgreSQL, ADMIN_TOKEN set): offered only while the machine is offline; the first click asks
// again, the second forgets; refused without the token (the token box appears and says why), done
// with it, and the dashboard returns to the fleet without the machine. Screenshot in
// test-output/screenshots/forget-machine.png.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ensureWebBuilt } from '../../web/build.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';

const TOKEN = 'forget-machine-token-0123456789';
const hasChromium = existsSync(CHROMIUM_PATH);

describe.skipIf(!hasChromium)('forgetting a machine from its page', () => {
  const dir = tempDir('forget-page');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let browser: Browser;
  let live: SyntheticSession;
  let ticker: NodeJS.Timeout;
  let base: string;
  const ids = async () => ((await (await fetch(`${base}/api/machines`)).json()) as Array<{ id: string; status: string }>);

  beforeAll(async () => {
    await ensureWebBuilt();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    db = await createTestDatabase();
    hub = await startHub(
      parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: db.url, ADMIN_TOKEN: TOKEN, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' }),
      { log: pino({ level: 'silent' }) },
    );
    base = `http://127.0.0.1:${hub.httpPort}`;
    const grpc = `http://127.0.0.1:${hub.grpcPort}`;
    const gone = openSyntheticSession(grpc, 'fm-gone');
    gone.send(syntheticReport('fm-gone', 1, Date.now()));
    live = openSyntheticSession(grpc, 'fm-live');
    let seq = 0;
    const send = () => live.send(syntheticReport('fm-live', ++seq, Date.now()));
    send();
    ticker = setInterval(send, 500);
    await waitFor('both machines', async () => (await ids()).length === 2);
    await gone.finish();
    browser = await launchBrowser();
    // Offline after 10 s without a report.
    await waitFor('fm-gone offline', async () => (await ids()).find((m) => m.id === 'fm-gone')?.status === 'offline', 20_000, 250);
  }, 90_000);

  afterAll(async () => {
    clearInterval(ticker);
    await browser?.close();
    await live?.finish().catch(() => {});
    await hub?.close();
    await db?.drop();
    dir.remove();
  });

  test('offered for an offline machine only; two clicks, the admin token, back to the fleet', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/#/machine/fm-live`);
      await expect.poll(() => page.locator('.machine-name').textContent()).toBe('fm-live');
      await page.waitForTimeout(1500);
      expect(await page.locator('.forget').isHidden()).toBe(true);

      await page.goto(`${base}/#/machine/fm-gone`);
      const forget = page.locator('.forget');
      await expect.poll(() => forget.isVisible()).toBe(true);
      const button = forget.locator('.forget-button');
      expect(await button.textContent()).toBe('Forget this machine');
      // The hub sets ADMIN_TOKEN and none is set in this tab: the token box is offered.
      await expect.poll(() => forget.locator('.token-box').isVisible()).toBe(true);

      // First click only asks; without the token the hub refuses and the page says why.
      await button.click();
      expect(await button.textContent()).toBe('Really forget fm-gone?');
      expect((await ids()).map((m) => m.id)).toContain('fm-gone');
      await button.click();
      await expect.poll(() => forget.locator('.forget-note').textContent()).toMatch(/Not forgotten: .*ADMIN_TOKEN/);
      expect((await ids()).map((m) => m.id)).toContain('fm-gone');

      await forget.locator('.admin-token').fill(TOKEN);
      await forget.locator('.token-save').click();
      await button.click();
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'forget-machine.png') });
      await button.click();
      await expect.poll(() => new URL(page.url()).hash).toBe('#/');
      await waitFor('fm-gone forgotten', async () => !(await ids()).some((m) => m.id === 'fm-gone'), 5_000);
      // The fleet shows the live machine only (fm-gone left the /ws view too).
      await expect.poll(() => page.locator('a.card').count()).toBe(1);
      expect(await page.locator('a.card .card-name').allTextContents()).toEqual(['fm-live']);
      // The refusal asked for above is the only console error.
      expect(g.problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
