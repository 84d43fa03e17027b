// web/src/fleet-cards.ts, the fleet page, in a real browser against a real hub in process (local
// PostgreSQL) fed by synthetic collectors: the empty state before any report, then one card per
// machine (name, host, CPU meter, labels), the summary, the text filter (name and label terms, "No
// machine matches the filter.", Escape clears it), a status chip, the sort by highest CPU, and a card
// that leads to its machine page. Screenshot in test-output/screenshots/fleet-cards.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINES = [
  { id: 'fc-alpha', cpu: 12, env: 'prod' },
  { id: 'fc-bravo', cpu: 64, env: 'dev' },
  { id: 'fc-charlie', cpu: 37, env: 'prod' },
];

describe.skipIf(!hasChromium)('the fleet page', () => {
  let web: WebHub;
  let base: string;

  beforeAll(async () => {
    web = await startWebHub({ name: 'fleet-cards', dashboard: true, env: { HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' } });
    base = web.base;
  }, 90_000);

  afterAll(() => web?.close());

  test('empty, then cards; filter, chips, sort, and a card to its page', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/`);
      await expect.poll(() => page.locator('.fleet .empty .empty-title').textContent()).toBe('No machine has reported yet.');
      expect(await page.locator('.fleet .empty code').textContent()).toBe('sysmonstm collector --hub http://127.0.0.1:50051');

      web.feed(
        MACHINES.map((m) => m.id),
        {
          everyMs: 500,
          report: (id, seq) => {
            const m = MACHINES.find((x) => x.id === id)!;
            const report = syntheticReport(id, seq, Date.now(), m.cpu);
            report.labels = { env: m.env };
            return report;
          },
        },
      );

      await expect.poll(() => page.locator('a.card').count(), { timeout: 10_000 }).toBe(3);
      expect(await page.locator('.fleet .empty').isHidden()).toBe(true);
      expect(await page.locator('.fleet-summary').textContent()).toBe('3 machines');
      expect(await page.locator('a.card .card-name').allTextContents()).toEqual(['fc-alpha', 'fc-bravo', 'fc-charlie']);
      const card = (id: string) => page.locator(`a.card[href$="/${id}"]`);
      expect(await card('fc-bravo').locator('.card-host').textContent()).toBe('fc-bravo.local');
      await expect.poll(() => card('fc-bravo').locator('.meter-value').first().textContent()).toBe('64.0%');
      expect(await card('fc-bravo').locator('.label').allTextContents()).toEqual(['env=dev']);
      expect(await page.locator('.chip-all .chip-count').textContent()).toBe('3');

      // Sort by highest CPU.
      await page.locator('select.sort').selectOption('cpu');
      await expect.poll(() => page.locator('a.card .card-name').allTextContents()).toEqual(['fc-bravo', 'fc-charlie', 'fc-alpha']);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'fleet-cards.png') });

      // Text filter: a label term, then a name, then nothing; Escape clears it.
      const search = page.locator('input.search');
      await search.fill('env=prod');
      await expect.poll(() => page.locator('a.card .card-name').allTextContents()).toEqual(['fc-charlie', 'fc-alpha']);
      expect(await page.locator('.fleet-summary').textContent()).toBe('2 of 3 machines shown');
      await search.fill('bravo');
      await expect.poll(() => page.locator('a.card .card-name').allTextContents()).toEqual(['fc-bravo']);
      await search.fill('no-such-machine');
      await expect.poll(() => page.locator('.fleet .empty').textContent()).toBe('No machine matches the filter.');
      await search.press('Escape');
      await expect.poll(() => page.locator('a.card .card-name').allTextContents()).toEqual(['fc-bravo', 'fc-charlie', 'fc-alpha']);

      // A status chip: nobody is offline; a second click shows everyone again.
      const offline = page.locator('.chip-offline');
      await offline.click();
      expect(await offline.getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => page.locator('.fleet .empty').textContent()).toBe('No machine matches the filter.');
      await offline.click();
      expect(await page.locator('.chip-all').getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => page.locator('a.card').count()).toBe(3);

      // A card leads to its machine page.
      await card('fc-charlie').click();
      await expect.poll(() => page.locator('.machine-name').textContent()).toBe('fc-charlie');
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
