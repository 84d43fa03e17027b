// The machine page's "Forget" action in a real browser against a real hub (in process, local
// PostgreSQL, ADMIN_TOKEN set): offered only while the machine is offline; the first click asks
// again, the second forgets; refused without the token (the token box appears and says why), done
// with it, and the dashboard returns to the fleet without the machine. Screenshot in
// test-output/screenshots/forget-machine.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const TOKEN = 'forget-machine-token-0123456789';
const hasChromium = existsSync(CHROMIUM_PATH);

describe.skipIf(!hasChromium)('forgetting a machine from its page', () => {
  let web: WebHub;
  let base: string;
  const ids = () => web.getJson<Array<{ id: string; status: string }>>('/api/machines');

  beforeAll(async () => {
    web = await startWebHub({ name: 'forget-page', dashboard: true, env: { ADMIN_TOKEN: TOKEN, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' } });
    base = web.base;
    const gone = openSyntheticSession(web.grpcUrl, 'fm-gone');
    gone.send(syntheticReport('fm-gone', 1, Date.now()));
    web.feed('fm-live', { everyMs: 500 });
    await waitFor('both machines', async () => (await ids()).length === 2);
    await gone.finish();
    // Offline after 10 s without a report.
    await waitFor('fm-gone offline', async () => (await ids()).find((m) => m.id === 'fm-gone')?.status === 'offline', 20_000, 250);
  }, 90_000);

  afterAll(() => web?.close());

  test('offered for an offline machine only; two clicks, the admin token, back to the fleet', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
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
