// web/src/fleet-cards.ts, the fleet page, in a real browser against a real hub in process (local
// PostgreSQL) fed by synthetic collectors: the empty state before any report, then one card per
// machine (name, host, CPU meter, labels), the summary, the text filter (name and label terms, "No
// machine matches the filter.", Escape clears it), a status chip, the sort by highest CPU, and a card
// that leads to its machine page. Screenshot in test-output/screenshots/fleet-cards.png.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ensureWebBuilt } from '../../web/build.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINES = [
  { id: 'fc-alpha', cpu: 12, env: 'prod' },
  { id: 'fc-bravo', cpu: 64, env: 'dev' },
  { id: 'fc-charlie', cpu: 37, env: 'prod' },
];

describe.skipIf(!hasChromium)('the fleet page', () => {
  const dir = tempDir('fleet-cards');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub;
  let browser: Browser;
  const sessions: SyntheticSession[] = [];
  let ticker: NodeJS.Timeout | undefined;
  let base: string;

  beforeAll(async () => {
    await ensureWebBuilt();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    db = await createTestDatabase();
    hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' }), {
      log: pino({ level: 'silent' }),
    });
    base = `http://127.0.0.1:${hub.httpPort}`;
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    clearInterval(ticker);
    await browser?.close();
    for (const s of sessions) await s.finish().catch(() => {});
    await hub?.close();
    await db?.drop();
    dir.remove();
  });

  test('empty, then cards; filter, chips, sort, and a card to its page', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/`);
      await expect.poll(() => page.locator('.fleet .empty .empty-title').textContent()).toBe('No machine has reported yet.');
      expect(await page.locator('.fleet .empty code').textContent()).toBe('sysmonstm collector --hub http://127.0.0.1:50051');

      let seq = 0;
      for (const m of MACHINES) sessions.push(openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, m.id));
      const send = () => {
        seq++;
        MACHINES.forEach((m, i) => {
          const report = syntheticReport(m.id, seq, Date.now(), m.cpu);
          report.labels = { env: m.env };
          sessions[i].send(report);
        });
      };
      send();
      ticker = setInterval(send, 500);

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
