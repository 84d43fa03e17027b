// web/src/alert-list.ts, the list of active alerts with their actions, in a real browser against a
// real hub (in process, local PostgreSQL, no ADMIN_TOKEN: the hub machine itself may act) fed by a
// synthetic collector: on the alerts panel's Active tab (every machine, a link to each) and on the
// machine page (web/src/machine-alerts.ts: that machine only, hidden while it has none). A firing
// and a pending alert with their state, severity, value and time; Acknowledge and Silence / Unsilence
// as the hub stores them; a rule name that looks like markup stays text; the list empties when the
// alerts end. Screenshot in test-output/screenshots/alert-list.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, HOSTILE_NAME, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINE = 'al-box';
/** "firing since 16:05" or "… 04:05 PM", as the browser's locale writes a time. */
const TIME = String.raw`\d{1,2}:\d{2}(\s?[AP]M)?`;

interface ActiveAlert {
  rule_id: string;
  machine: string;
  state: string;
  acknowledged: boolean;
  silenced_until: number | null;
}

describe.skipIf(!hasChromium)('the active alerts list', () => {
  let web: WebHub;
  let base: string;
  let cpu = 42;
  const ruleIds: Record<string, string> = {};
  const activeAlerts = () => web.getJson<ActiveAlert[]>('/api/alerts');
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return (await res.json()) as { id: string };
  };

  beforeAll(async () => {
    web = await startWebHub({ name: 'alert-list', dashboard: true, env: { HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' } });
    base = web.base;
    ruleIds.cpu = (await post('/api/rules', { name: 'CPU busy', metric: 'cpu_percent', op: '>', threshold: 30, for_s: 0, severity: 'critical' })).id;
    ruleIds.memory = (await post('/api/rules', { name: HOSTILE_NAME, metric: 'memory_percent', op: '>', threshold: 10, for_s: 3600, severity: 'warning' })).id;
    web.feed(MACHINE, { report: (m, seq) => syntheticReport(m, seq, Date.now(), cpu) });
    await waitFor('a firing and a pending alert', async () => {
      const states = (await activeAlerts()).map((a) => a.state).sort();
      return states.join() === 'firing,pending';
    });
  }, 90_000);

  afterAll(() => web?.close());

  test('the Active tab and the machine page: state, value, acknowledge, silence, and the end', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 1000 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`${base}/`);
      await page.locator('button[data-tab="active"]').click();
      const tab = page.locator('.alerts-tab-active');
      await expect.poll(() => tab.locator('.alert-list-wrap').getAttribute('data-count')).toBe('2');
      expect(await page.locator('button[data-tab="active"]').textContent()).toBe('Active (2)');
      expect(await tab.locator('.alerts-empty').isHidden()).toBe(true);

      const firing = tab.locator(`.alert-item[data-rule="${ruleIds.cpu}"]`);
      expect(await firing.getAttribute('data-state')).toBe('firing');
      expect(await firing.getAttribute('data-status')).toBe('critical');
      expect(await firing.getAttribute('data-machine')).toBe(MACHINE);
      expect(await firing.locator('.alert-rule').textContent()).toBe('CPU busy');
      expect(await firing.locator('.alert-machine').textContent()).toBe(MACHINE);
      expect(await firing.locator('.alert-machine').getAttribute('href')).toBe(`/#/machine/${MACHINE}`);
      expect(await firing.locator('.alert-badge').textContent()).toBe('critical');
      expect(await firing.locator('.alert-meta').textContent()).toMatch(new RegExp(`^firing since ${TIME} · value 42\\.0 %$`));
      expect(await firing.locator('.ack').count()).toBe(1);
      expect(await firing.locator('.silence-for').inputValue()).toBe('3600');
      expect(await firing.locator('.silence-for option').allTextContents()).toEqual(['15 min', '1 h', '4 h', '24 h']);

      // Pending: no acknowledge (nothing was sent yet); a rule name that looks like markup is text.
      const pending = tab.locator(`.alert-item[data-rule="${ruleIds.memory}"]`);
      expect(await pending.getAttribute('data-status')).toBe('pending');
      expect(await pending.locator('.alert-badge').textContent()).toBe('pending');
      expect(await pending.locator('.alert-rule').textContent()).toBe(HOSTILE_NAME);
      expect(await tab.locator('.alert-list img').count()).toBe(0);
      expect(await pending.locator('.alert-meta').textContent()).toMatch(new RegExp(`^pending since ${TIME} · value 50\\.0 %$`));
      expect(await pending.locator('.ack').count()).toBe(0);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'alert-list.png'), fullPage: true });

      // Acknowledge: stored by the hub, the button goes and the line says so.
      await firing.locator('.ack').click();
      await expect.poll(() => firing.locator('.alert-meta').textContent()).toMatch(/ · acknowledged$/);
      expect(await firing.locator('.ack').count()).toBe(0);
      expect((await activeAlerts()).find((a) => a.rule_id === ruleIds.cpu)!.acknowledged).toBe(true);

      // Silence for 4 h, then lift it.
      await firing.locator('.silence-for').selectOption('14400');
      const silencedAt = Date.now();
      await firing.locator('.silence').click();
      await expect.poll(() => firing.locator('.alert-meta').textContent()).toMatch(new RegExp(` · silenced until ${TIME}$`));
      const until = (await activeAlerts()).find((a) => a.rule_id === ruleIds.cpu)!.silenced_until!;
      expect(Math.abs(until - (silencedAt + 4 * 3600_000))).toBeLessThan(60_000);
      expect(await firing.locator('.silence-for').count()).toBe(0);
      await firing.locator('.unsilence').click();
      await expect.poll(() => firing.locator('.silence-for').count()).toBe(1);
      expect(await firing.locator('.alert-meta').textContent()).not.toMatch(/silenced/);
      expect((await activeAlerts()).find((a) => a.rule_id === ruleIds.cpu)!.silenced_until).toBeNull();

      // The machine page lists only its alerts, without a link to itself.
      await page.goto(`${base}/#/machine/${MACHINE}`);
      const onMachine = page.locator('.machine-alerts');
      await expect.poll(() => onMachine.locator('.alert-item').count()).toBe(2);
      expect(await onMachine.isVisible()).toBe(true);
      expect(await onMachine.locator('.alert-machine').count()).toBe(0);

      // The CPU falls below the threshold: that alert ends; the other goes with its rule; the list hides.
      cpu = 5;
      await expect.poll(() => onMachine.locator('.alert-item').count(), { timeout: 15_000 }).toBe(1);
      expect(await onMachine.locator('.alert-item').getAttribute('data-rule')).toBe(ruleIds.memory);
      const del = await fetch(`${base}/api/rules/${ruleIds.memory}`, { method: 'DELETE' });
      expect(del.status).toBe(204);
      await expect.poll(() => onMachine.isHidden(), { timeout: 15_000 }).toBe(true);
      await page.goto(`${base}/`);
      await page.locator('button[data-tab="active"]').click();
      await expect.poll(() => tab.locator('.alerts-empty').textContent()).toBe('No active alerts.');
      expect(await tab.locator('.alerts-empty').isVisible()).toBe(true);
      expect(await tab.locator('.alert-item').count()).toBe(0);
      expect(await page.locator('button[data-tab="active"]').textContent()).toBe('Active');
      expect(g.problems).toEqual([]);
    } finally {
      await g.close();
    }
  }, 90_000);
});
