// web/src/alerts-panel.ts on its own in a real browser, its page served at the origin of a real hub
// (in process, local PostgreSQL, no ADMIN_TOKEN) fed by a synthetic collector, with the real alerts
// store: nothing asked until it is shown; the summary and its colour from what fires and what is
// pending; the four tabs (one shown at a time, the token box on Rules and Channels only, with the
// hub's hint); the history with machines by their display name, each state's colour and values with
// their unit (a bare number once the rule is gone), refreshed while open; and the summary when the
// hub is gone.
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AlertsPanel, createAlertsPanel } from '../../web/src/alerts-panel.ts';
import type { createAlertsStore } from '../../web/src/alerts-store.ts';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const MACHINE = 'ap-box';

declare global {
  interface Window {
    alertsPanel: { createAlertsPanel: typeof createAlertsPanel; createAlertsStore: typeof createAlertsStore; panel?: AlertsPanel };
  }
}

describe.skipIf(!hasChromium)('the alerts panel', () => {
  let web: WebHub;
  let html: string;
  let base: string;
  let cpu = 42;
  const rules: Record<string, string> = {};
  const addRule = async (rule: Record<string, unknown>) => {
    const res = await fetch(`${base}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    html = await modulePage([
      "import './styles.css';",
      "import { createAlertsPanel } from './alerts-panel.ts';",
      "import { createAlertsStore } from './alerts-store.ts';",
      'window.alertsPanel = { createAlertsPanel, createAlertsStore };',
    ]);
    web = await startWebHub({ name: 'alerts-panel' });
    base = web.base;
    rules.cpu = await addRule({ name: 'CPU busy', metric: 'cpu_percent', op: '>', threshold: 30, severity: 'critical' });
    rules.memory = await addRule({ name: 'Memory used', metric: 'memory_percent', op: '>', threshold: 10, severity: 'warning' });
    rules.disk = await addRule({ name: 'Disk filling', metric: 'disk_percent', op: '>', threshold: 10, for_s: 3600 });
    web.feed(MACHINE, { report: (m, seq) => syntheticReport(m, seq, Date.now(), cpu) });
    await waitFor('three alerts', async () => (await web.getJson<unknown[]>('/api/alerts')).length === 3);
  }, 90_000);

  afterAll(() => web?.close());

  async function mount(page: Page, show: boolean): Promise<void> {
    await openModulePage(page, html, `${base}/module-page`);
    await page.evaluate((visible) => {
      const a = window.alertsPanel;
      const store = a.createAlertsStore();
      a.panel = a.createAlertsPanel(document.getElementById('host')!, { store, nameOf: (id) => `Box ${id.toUpperCase()}` });
      if (visible) a.panel.setVisible(true);
    }, show);
  }

  test('summary, tabs, token box, history, and the hub gone', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1200, height: 900 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      const alertGets: number[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/alerts') alertGets.push(Date.now());
      });
      await mount(page, false);
      const root = page.locator('#host');
      const summary = root.locator('.alerts-summary');
      // Not shown: nothing asked, nothing summed up.
      await new Promise((r) => setTimeout(r, 500));
      expect(alertGets).toEqual([]);
      expect(await summary.textContent()).toBe('');
      expect(await root.locator('button[data-tab="active"]').textContent()).toBe('Active');

      // Shown: two firing (one critical) and one pending.
      await page.evaluate(() => window.alertsPanel.panel!.setVisible(true));
      await expect.poll(() => summary.textContent()).toBe('2 firing (1 critical) · 1 pending');
      expect(await root.getAttribute('data-status')).toBe('critical');
      expect(await root.locator('button[data-tab="active"]').textContent()).toBe('Active (3)');
      expect(await root.locator('.alerts-tab-active .alert-item').count()).toBe(3);
      // Machines by the name the page gives them.
      expect(await root.locator('.alerts-tab-active .alert-machine').first().textContent()).toBe(`Box ${MACHINE.toUpperCase()}`);

      // One tab at a time; the token box only where changes are made, with the hub's hint.
      const tokenBox = root.locator('.alerts-token');
      const shown = async () => ({
        selected: await root.locator('.alerts-tabs [aria-selected="true"]').getAttribute('data-tab'),
        panels: await root.locator('.alerts-tab').evaluateAll((ps) => ps.filter((p) => !(p as HTMLElement).hidden).map((p) => p.id)),
        token: await tokenBox.isVisible(),
      });
      expect(await shown()).toEqual({ selected: 'active', panels: ['alerts-tab-active'], token: false });
      for (const [key, token] of [['history', false], ['rules', true], ['channels', true], ['active', false]] as const) {
        await root.locator(`button[data-tab="${key}"]`).click();
        expect(await shown()).toEqual({ selected: key, panels: [`alerts-tab-${key}`], token });
      }
      await root.locator('button[data-tab="rules"]').click();
      await expect.poll(() => tokenBox.locator('.token-state').textContent()).toBe('No token needed: this hub takes changes from its own machine (set ADMIN_TOKEN to allow them from elsewhere).');
      // The Rules tab loads the rule editor's list (the three rules here among the hub's own).
      for (const id of Object.values(rules)) await expect.poll(() => root.locator(`.rule-editor .rule-item[data-rule="${id}"]`).count()).toBe(1);

      // The critical alert ends: the summary and its colour follow.
      cpu = 5;
      await expect.poll(() => summary.textContent(), { timeout: 15_000 }).toBe('1 firing · 1 pending');
      expect(await root.getAttribute('data-status')).toBe('warning');

      // History: newest first, names from the page, colours per state, values with their unit.
      await root.locator('button[data-tab="history"]').click();
      const rows = root.locator('.alert-history tbody tr');
      const cells = async () =>
        rows.evaluateAll((trs) =>
          trs.map((tr) => {
            const td = [...tr.querySelectorAll('td')].map((c) => c.textContent);
            return { machine: td[1], rule: td[2], state: td[3], status: tr.querySelector('.history-state')!.getAttribute('data-status'), value: td[4] };
          }),
        );
      // Firing and resolved are history (pending is not): the resolution on top.
      await expect.poll(() => rows.count(), { timeout: 12_000 }).toBe(3);
      const name = `Box ${MACHINE.toUpperCase()}`;
      const all = await cells();
      expect(all[0]).toEqual({ machine: name, rule: 'CPU busy', state: 'resolved', status: 'healthy', value: '5.0 %' });
      expect(all.slice(1)).toContainEqual({ machine: name, rule: 'Memory used', state: 'firing', status: 'warning', value: '50.0 %' });
      expect(all.slice(1)).toContainEqual({ machine: name, rule: 'CPU busy', state: 'firing', status: 'critical', value: '42.0 %' });
      expect(await root.locator('.alerts-tab-history .alerts-empty').isHidden()).toBe(true);
      expect(await root.locator('.alert-history tbody tr a').first().getAttribute('href')).toBe(`/#/machine/${MACHINE}`);
      expect(await root.locator('.history-older').isHidden()).toBe(true);

      // While the tab is open it refreshes: the memory rule goes, its entries lose their metric and
      // show a bare number; the summary follows at the next poll.
      expect((await fetch(`${base}/api/rules/${rules.memory}`, { method: 'DELETE' })).status).toBe(204);
      await expect.poll(async () => (await cells()).find((c) => c.rule === 'Memory used' && c.state === 'firing')?.value, { timeout: 12_000 }).toBe('50');
      await expect.poll(() => summary.textContent(), { timeout: 5_000 }).toBe('1 pending');
      expect(await root.getAttribute('data-status')).toBe('healthy');

      // The hub gone: the summary says so.
      await web.stopFeeding();
      await web.hub.close();
      await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^Alerts unavailable: .+/);
      expect(g.problems.filter((p) => !/Failed to load resource|Failed to fetch/.test(p))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 90_000);
});
