// The machine page's "Report every [N] s" control in a real browser against a real hub (in process,
// local PostgreSQL, ADMIN_TOKEN set) and a real collector process (its own interval 1 s): a value out
// of bounds is refused on the page; without the token the hub refuses and the token box appears;
// with it the hub stores 0.5 s, pushes it to the collector, and the header says "every 500 ms" after
// the next report; an empty field gives the collector its own interval back. The pure field parsing
// is tested here too. Screenshot in test-output/screenshots/interval-control.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { intervalFieldText, parseIntervalField } from '../../web/src/interval-control.ts';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const TOKEN = 'interval-control-token-0123456789';
const MACHINE = 'ic-machine';
const hasChromium = existsSync(CHROMIUM_PATH);

describe('the interval field', () => {
  test('seconds → milliseconds, empty → the collector’s own, bounds', () => {
    expect(parseIntervalField('0.5')).toEqual({ ok: true, intervalMs: 500 });
    expect(parseIntervalField(' 2 ')).toEqual({ ok: true, intervalMs: 2000 });
    expect(parseIntervalField('')).toEqual({ ok: true, intervalMs: 0 });
    expect(parseIntervalField('3600')).toEqual({ ok: true, intervalMs: 3_600_000 });
    for (const bad of ['0', '0.05', '3601', 'abc', '-1', 'Infinity']) expect(parseIntervalField(bad).ok, bad).toBe(false);
    expect(intervalFieldText(500)).toBe('0.5');
    expect(intervalFieldText(0)).toBe('');
  });
});

describe.skipIf(!hasChromium)('setting the report interval from the machine page', () => {
  const collectorDir = tempDir('interval-page-collector');
  let web: WebHub;
  let collector: CliProcess;
  let base: string;
  const listed = async () => (await web.getJson<Array<{ id: string; intervalMs: number }>>('/api/machines')).find((m) => m.id === MACHINE);

  beforeAll(async () => {
    const grpcPort = await freePort();
    web = await startWebHub({
      name: 'interval-page',
      dashboard: true,
      env: { GRPC_PORT: String(grpcPort), ADMIN_TOKEN: TOKEN, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' },
    });
    base = web.base;
    collector = runCli(['collector'], { AGGREGATOR_URL: `http://127.0.0.1:${grpcPort}`, MACHINE_ID: MACHINE, MACHINE_NAME: MACHINE, DATA_DIR: collectorDir.path, COLLECTION_INTERVAL: '1', LOG_FORMAT: 'json' });
    await waitFor('the collector listed', async () => (await listed())?.intervalMs === 1000, 30_000, 200);
  }, 90_000);

  afterAll(async () => {
    await collector?.stop();
    await web?.close();
    collectorDir.remove();
  });

  test('refused out of bounds and without the token; set with it, pushed, shown; reset to the collector’s own', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/#/machine/${MACHINE}`);
      await expect.poll(() => page.locator('.machine-name').textContent()).toBe(MACHINE);
      const control = page.locator('.interval-control');
      await expect.poll(() => control.isVisible()).toBe(true);
      expect(await control.locator('.interval-row label').textContent()).toBe('Report every');
      await expect.poll(() => page.locator('.machine-seen').textContent()).toMatch(/every 1 s$/);
      // Nothing set: the field is empty (the collector's own); the hub sets ADMIN_TOKEN, so the box is offered.
      expect(await control.locator('.interval-input').inputValue()).toBe('');
      await expect.poll(() => control.locator('.token-box').isVisible()).toBe(true);

      const input = control.locator('.interval-input');
      const note = control.locator('.interval-note');
      await input.fill('0.05');
      await control.locator('.interval-save').click();
      await expect.poll(() => note.textContent()).toMatch(/Between 0\.1 and 3600 seconds/);

      await input.fill('0.5');
      await control.locator('.interval-save').click();
      await expect.poll(() => note.textContent()).toMatch(/Not saved: .*ADMIN_TOKEN/);
      expect(await (await fetch(`${base}/api/machines/${MACHINE}/settings`)).json()).toEqual({ intervalMs: 0 });

      await control.locator('.admin-token').fill(TOKEN);
      await control.locator('.token-save').click();
      await input.press('Enter');
      await expect.poll(() => note.textContent()).toBe('Saved: every 0.5 s.');
      expect(await (await fetch(`${base}/api/machines/${MACHINE}/settings`)).json()).toEqual({ intervalMs: 500 });
      // The collector took it: its next report says 500 ms, and the header follows.
      await expect.poll(() => page.locator('.machine-seen').textContent(), { timeout: 10_000 }).toMatch(/every 500 ms$/);
      expect((await listed())!.intervalMs).toBe(500);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'interval-control.png') });

      // A reload shows the stored value.
      await page.reload();
      await expect.poll(() => page.locator('.interval-input').inputValue()).toBe('0.5');

      // Empty: the collector's own interval again.
      await page.locator('.interval-input').fill('');
      await page.locator('.interval-save').click();
      await expect.poll(() => page.locator('.interval-note').textContent()).toBe('Saved: the collector’s own interval.');
      await expect.poll(() => page.locator('.machine-seen').textContent(), { timeout: 10_000 }).toMatch(/every 1 s$/);
      // The refusal asked for above is the only console error.
      expect(g.problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
