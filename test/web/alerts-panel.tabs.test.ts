// The alerting tabs in a real browser against a real hub (in process, local PostgreSQL, ADMIN_TOKEN
// set): the History tab lists 130 stored transitions newest first in id order, 100 at a time with
// "Show older", values with their unit; the token hint says the hub wants its token; the Channels tab
// creates a channel without a name, sends it a test (the local receiver gets it), lets a rule name it
// (picked in the rule form; the channel cannot be deleted meanwhile) and deletes it.
// Screenshots in test-output/screenshots/alerting-*.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.ts';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const TOKEN = 'alerting-pages-token-0123456789';
const ENTRIES = 130;
const hasChromium = existsSync(CHROMIUM_PATH);

describe.skipIf(!hasChromium)('alerting tabs in the browser', () => {
  let web: WebHub;
  let receiver: HttpReceiver;
  let base: string;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    web = await startWebHub({ name: 'alerting-pages', dashboard: true, env: { ADMIN_TOKEN: TOKEN, HISTORY_FLUSH_INTERVAL: '0.05', NOTIFY_ALLOW_PRIVATE: '1' } });
    base = web.base;
    web.feed('ap-m1', { everyMs: 0, report: (m, seq) => syntheticReport(m, seq, Date.now(), 20) });
    await waitFor('the machine', async () => (await web.getJson<Array<{ id: string }>>('/api/machines')).some((m) => m.id === 'ap-m1'));
    // 130 transitions of the default CPU rule, stored as the hub stores them; entry i has value 70 + i/100.
    const pool = new pg.Pool({ connectionString: web.db.url, max: 1 });
    const t0 = Date.now() - ENTRIES * 1000;
    for (let i = 1; i <= ENTRIES; i++) {
      await pool.query(
        `INSERT INTO alert_events (transition_id, time, rule_id, rule_name, machine_id, state, severity, value, detail)
         VALUES ($1, to_timestamp($2::float8 / 1000), 'default-cpu', 'CPU busy', 'ap-m1', $3, 'warning', $4, $5)`,
        [`ap-${i}`, t0 + i * 1000, i % 2 ? 'firing' : 'resolved', 70 + i / 100 + 0.004, `entry ${i}`],
      );
    }
    await pool.end();
  }, 90_000);

  afterAll(async () => {
    await web?.close();
    await receiver?.close();
  });

  test('History: newest first in id order, 100 at a time, values with units', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    try {
      const { page } = g;
      await page.goto(`${base}/`);
      await page.locator('button[data-tab="history"]').click();
      const details = () => page.locator('.alert-history tbody tr td:last-child').allTextContents();
      await expect.poll(async () => (await details()).length).toBe(100);
      expect(await details()).toEqual(Array.from({ length: 100 }, (_, i) => `entry ${ENTRIES - i}`));
      const firstValue = await page.locator('.alert-history tbody tr').first().locator('td.num').textContent();
      expect(firstValue).toBe(`${(70 + ENTRIES / 100 + 0.004).toFixed(1)} %`);
      await page.locator('.history-older').click();
      await expect.poll(async () => (await details()).length).toBe(ENTRIES);
      expect(await details()).toEqual(Array.from({ length: ENTRIES }, (_, i) => `entry ${ENTRIES - i}`));
      expect(await page.locator('.history-older').isHidden()).toBe(true);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'alerting-history.png') });
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);

  test('Channels: create without a name, send a test, delete; the token hint follows ADMIN_TOKEN', async () => {
    for (const scheme of ['dark', 'light'] as const) {
      const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 900 }, colorScheme: scheme });
      try {
        const { page } = g;
        await page.goto(`${base}/`);
        await page.locator('button[data-tab="rules"]').click();
        await expect.poll(() => page.locator('.token-box .token-state').textContent()).toBe('This hub sets ADMIN_TOKEN: enter it to make changes.');
        await page.locator('button[data-tab="channels"]').click();
        const tab = page.locator('.alerts-tab-channels');
        await expect.poll(() => tab.locator('.channel-list').textContent()).toMatch(scheme === 'dark' ? /No saved channels yet/ : /.*/);

        // Without the token the hub refuses, and says why.
        await tab.locator('.channel-url').fill(`${receiver.url}/hook-${scheme}`);
        await tab.locator('.channel-add').click();
        await expect.poll(() => tab.locator('.form-message').textContent()).toMatch(/ADMIN_TOKEN/);

        // One token box serves the rules and channels tabs.
        expect(await page.locator('.admin-token').count()).toBe(1);
        await page.locator('.admin-token').fill(TOKEN);
        await page.locator('.token-save').click();
        expect(await page.locator('.token-state').textContent()).toBe('A token is set for this tab.');
        await tab.locator('.channel-secret').fill('s3cret');
        await tab.locator('.channel-add').click();
        const host = new URL(receiver.url).host;
        const item = tab.locator('.channel-item', { hasText: `/hook-${scheme}` });
        await expect.poll(() => item.count()).toBe(1);
        expect(await item.locator('.rule-name').textContent()).toBe(`webhook ${host}`);
        expect(await item.locator('.rule-desc').textContent()).toMatch(/· webhook · .* · signed$/);

        await item.locator('.channel-test').click();
        await expect.poll(() => item.locator('.channel-test-result').textContent()).toBe('Delivered (HTTP 200).');
        const got = receiver.requests.filter((r) => r.path === `/hook-${scheme}`);
        expect(got).toHaveLength(1);
        expect(JSON.parse(got[0].body)).toMatchObject({ kind: 'test', rule_name: `Test of channel "webhook ${host}"` });
        expect(got[0].headers['x-sysmonstm-signature']).toBeTruthy();
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `alerting-channels-${scheme}.png`) });

        if (scheme === 'light') {
          // A rule names the saved channel, picked in the rule form; the channel cannot go while it does.
          const id = (await item.getAttribute('data-channel'))!;
          await page.locator('button[data-tab="rules"]').click();
          await page.locator('.new-rule').click();
          await page.locator('.rf-name').fill('Uses the saved channel');
          await page.locator('.rf-threshold').fill('99');
          await page.locator('.add-saved-channel').selectOption(id);
          await expect.poll(() => page.locator('.saved-channels').textContent()).toContain(`saved channel “webhook ${host}” (${id})`);
          await page.locator('.rf-save').click();
          const rule = page.locator('.rule-item', { hasText: 'Uses the saved channel' });
          await expect.poll(() => rule.locator('.rule-desc').textContent()).toContain(`notifies ${id}`);
          const stored = (await (await fetch(`${base}/api/rules`)).json()) as Array<{ id: string; name: string; channels: unknown[] }>;
          const ruleId = stored.find((r) => r.name === 'Uses the saved channel')!.id;
          expect(stored.find((r) => r.id === ruleId)!.channels).toEqual([id]);
          await page.locator('button[data-tab="channels"]').click();
          await item.locator('.channel-delete').click();
          await item.locator('.channel-delete').click();
          await expect.poll(() => tab.locator('.form-message').textContent()).toMatch(new RegExp(`used by rule\\(s\\) ${ruleId}`));
          await page.locator('button[data-tab="rules"]').click();
          await rule.locator('.rule-delete').click();
          await rule.locator('.rule-delete').click();
          await expect.poll(() => rule.count()).toBe(0);
          await page.locator('button[data-tab="channels"]').click();
        }
        await item.locator('.channel-delete').click();
        expect(await item.locator('.channel-delete').textContent()).toBe('Really delete?');
        await item.locator('.channel-delete').click();
        await expect.poll(() => item.count()).toBe(0);
        // The refusals asked for above (401 without the token, 409 while a rule uses the channel) are the only console errors.
        expect(g.problems.filter((p) => !/status of (401|409)/.test(p))).toEqual([]);
      } finally {
        await g.close();
      }
    }
  }, 90_000);
});
