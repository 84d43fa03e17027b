// web/src/rule-editor.ts, the Rules tab of the alerts panel, in a real browser against a real hub (in
// process, local PostgreSQL, ADMIN_TOKEN set): the new-rule form's defaults and the fields it shows per
// metric; what the page refuses itself (nothing is sent); what the hub refuses, shown as the hub says
// it; a full rule saved (the body the page sends, what the hub stores, the line the list shows); the
// form filled back from the stored rule and a change sent with PUT (the stored secret kept); delete on
// the second click only; and the refusal without the token. Screenshot in
// test-output/screenshots/rule-editor.png.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM_PATH, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const TOKEN = 'rule-editor-token-0123456789abcdef';
const hasChromium = existsSync(CHROMIUM_PATH);

interface StoredRule {
  id: string;
  name: string;
  metric: string;
  op: string;
  threshold: number;
  for_s: number;
  clear_threshold: number;
  severity: string;
  repeat_s: number;
  mount: string | null;
  scope: { machines?: string[]; labels?: Record<string, string> };
  channels: Array<string | { type: string; url: string; has_secret?: boolean; secret?: string }>;
}

/** The writes the page sends to the rules API, in order. */
function recordWrites(page: Page): Array<{ method: string; path: string; body: unknown }> {
  const writes: Array<{ method: string; path: string; body: unknown }> = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!url.pathname.startsWith('/api/rules') || r.method() === 'GET') return;
    const data = r.postData();
    writes.push({ method: r.method(), path: url.pathname, body: data ? JSON.parse(data) : undefined });
  });
  return writes;
}

describe.skipIf(!hasChromium)('the rule editor', () => {
  let web: WebHub;
  let base: string;
  const storedRules = () => web.getJson<StoredRule[]>('/api/rules');

  beforeAll(async () => {
    web = await startWebHub({ name: 'rule-editor', dashboard: true, env: { ADMIN_TOKEN: TOKEN } });
    base = web.base;
  }, 90_000);

  afterAll(() => web?.close());

  test('defaults, refusals on the page and at the hub, save, edit, delete', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1280, height: 1000 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      const writes = recordWrites(page);
      const rulesBefore = (await storedRules()).length;
      await page.goto(`${base}/`);
      await page.locator('button[data-tab="rules"]').click();
      const editor = page.locator('.rule-editor');
      const message = editor.locator('.form-message');
      const form = editor.locator('.rule-form');
      expect(await form.isHidden()).toBe(true);

      // The new-rule form: its defaults, and the fields each metric needs.
      await editor.locator('.new-rule').click();
      expect(await form.locator('.form-title').textContent()).toBe('New rule');
      expect(await form.locator('.rf-name').inputValue()).toBe('');
      expect(await form.locator('.rf-metric').inputValue()).toBe('cpu_percent');
      expect(await form.locator('.rf-threshold').inputValue()).toBe('90');
      expect(await form.locator('.rf-for').inputValue()).toBe('60');
      const mountField = form.locator('.form-field', { has: page.locator('.rf-mount') });
      const opField = form.locator('.form-field', { has: page.locator('.rf-op') });
      expect(await mountField.isHidden()).toBe(true);
      expect(await opField.isVisible()).toBe(true);
      await form.locator('.rf-metric').selectOption('disk_percent');
      expect(await mountField.isVisible()).toBe(true);
      await form.locator('.rf-metric').selectOption('offline');
      expect(await opField.isHidden()).toBe(true);
      expect(await mountField.isHidden()).toBe(true);
      await form.locator('.rf-metric').selectOption('cpu_percent');
      expect(await opField.isVisible()).toBe(true);

      // Refused on the page: the message names the field, and nothing reaches the hub.
      await form.locator('.rf-save').click();
      await expect.poll(() => message.textContent()).toBe('name must not be empty');
      expect(await message.getAttribute('data-kind')).toBe('error');
      await form.locator('.rf-name').fill('Disk almost full');
      await form.locator('.rf-labels').fill('env=prod, tier');
      await form.locator('.rf-save').click();
      await expect.poll(() => message.textContent()).toBe('labels: "tier" is not key=value');
      await form.locator('.rf-labels').fill('env=prod');
      await form.locator('.add-channel').click();
      await form.locator('.rf-save').click();
      await expect.poll(() => message.textContent()).toBe('channels[0].url must not be empty');
      expect(writes).toEqual([]);

      // Refused by the hub without the token: the page says what the hub said.
      await form.locator('.ch-url').fill('https://hooks.example.com/disk');
      await form.locator('.ch-secret').fill('hook-secret');
      await form.locator('.rf-save').click();
      await expect.poll(() => message.textContent()).toMatch(/ADMIN_TOKEN/);
      expect(writes).toHaveLength(1);
      expect((await storedRules()).length).toBe(rulesBefore);
      await page.locator('.admin-token').fill(TOKEN);
      await page.locator('.token-save').click();

      // Refused by the hub for what only it checks (hysteresis the wrong way round), shown as is.
      await form.locator('.rf-threshold').fill('85');
      await form.locator('.rf-clear').fill('95');
      await form.locator('.rf-save').click();
      await expect.poll(() => message.textContent()).toBe('clear_threshold must not be above threshold when op is ">"');
      expect(writes).toHaveLength(2);
      expect((await storedRules()).length).toBe(rulesBefore);

      // A full rule: the body sent, what the hub stores, the line the list shows.
      await form.locator('.rf-metric').selectOption('disk_percent');
      await form.locator('.rf-mount').fill(' /data ');
      await form.locator('.rf-clear').fill('80');
      await form.locator('.rf-for').fill('30');
      await form.locator('.rf-severity').selectOption('critical');
      await form.locator('.rf-repeat').fill('600');
      await form.locator('.rf-machines').fill('web-1, web-2');
      await form.locator('.rf-save').click();
      await expect.poll(() => message.textContent()).toBe('Saved “Disk almost full”.');
      expect(await message.getAttribute('data-kind')).toBe('ok');
      expect(await form.isHidden()).toBe(true);
      expect(writes).toHaveLength(3);
      expect(writes[2]).toEqual({
        method: 'POST',
        path: '/api/rules',
        body: {
          name: 'Disk almost full',
          metric: 'disk_percent',
          op: '>',
          threshold: 85,
          for_s: 30,
          clear_threshold: 80,
          severity: 'critical',
          scope: { machines: ['web-1', 'web-2'], labels: { env: 'prod' } },
          channels: [{ type: 'webhook', url: 'https://hooks.example.com/disk', secret: 'hook-secret' }],
          repeat_s: 600,
          mount: '/data',
        },
      });
      const stored = (await storedRules()).find((r) => r.name === 'Disk almost full')!;
      expect(stored).toMatchObject({ metric: 'disk_percent', threshold: 85, for_s: 30, clear_threshold: 80, severity: 'critical', repeat_s: 600, mount: '/data', scope: { machines: ['web-1', 'web-2'], labels: { env: 'prod' } } });
      expect(stored.channels).toEqual([{ type: 'webhook', url: 'https://hooks.example.com/disk', has_secret: true }]);
      const item = editor.locator(`.rule-item[data-rule="${stored.id}"]`);
      await expect.poll(() => item.count()).toBe(1);
      expect(await item.getAttribute('data-status')).toBe('critical');
      expect(await item.locator('.rule-name').textContent()).toBe('Disk almost full');
      expect(await item.locator('.rule-desc').textContent()).toBe('disk /data > 85 for 30 s · 2 machines · env=prod · notifies webhook');
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'rule-editor.png'), fullPage: true });

      // Edit: the form is filled from the stored rule; a change goes out as PUT and keeps the secret.
      await item.locator('.rule-edit').click();
      expect(await form.locator('.form-title').textContent()).toBe('Edit “Disk almost full”');
      expect(await message.isHidden()).toBe(true);
      expect(await form.locator('.rf-name').inputValue()).toBe('Disk almost full');
      expect(await form.locator('.rf-metric').inputValue()).toBe('disk_percent');
      expect(await form.locator('.rf-threshold').inputValue()).toBe('85');
      expect(await form.locator('.rf-clear').inputValue()).toBe('80');
      expect(await form.locator('.rf-for').inputValue()).toBe('30');
      expect(await form.locator('.rf-severity').inputValue()).toBe('critical');
      expect(await form.locator('.rf-repeat').inputValue()).toBe('600');
      expect(await form.locator('.rf-mount').inputValue()).toBe('/data');
      expect(await form.locator('.rf-machines').inputValue()).toBe('web-1, web-2');
      expect(await form.locator('.rf-labels').inputValue()).toBe('env=prod');
      expect(await form.locator('.ch-url').inputValue()).toBe('https://hooks.example.com/disk');
      expect(await form.locator('.ch-secret').inputValue()).toBe('');
      expect(await form.locator('.ch-secret').getAttribute('placeholder')).toBe('secret unchanged');
      await form.locator('.rf-threshold').fill('92');
      await form.locator('.rf-machines').fill('');
      await form.locator('.rf-save').click();
      await expect.poll(() => item.locator('.rule-desc').textContent()).toBe('disk /data > 92 for 30 s · env=prod · notifies webhook');
      expect(writes).toHaveLength(4);
      expect(writes[3]).toMatchObject({ method: 'PUT', path: `/api/rules/${stored.id}`, body: { id: stored.id, threshold: 92, scope: { labels: { env: 'prod' } }, channels: [{ type: 'webhook', url: 'https://hooks.example.com/disk' }] } });
      expect((writes[3].body as { channels: Array<Record<string, unknown>> }).channels[0]).not.toHaveProperty('secret');
      const changed = (await storedRules()).find((r) => r.id === stored.id)!;
      expect(changed).toMatchObject({ threshold: 92, clear_threshold: 80, scope: { labels: { env: 'prod' } } });
      expect(changed.scope.machines).toBeUndefined();
      expect(changed.channels).toEqual([{ type: 'webhook', url: 'https://hooks.example.com/disk', has_secret: true }]);

      // Cancel closes the form without sending anything.
      await item.locator('.rule-edit').click();
      await form.locator('.rf-threshold').fill('10');
      await form.locator('.rf-cancel').click();
      expect(await form.isHidden()).toBe(true);
      expect(writes).toHaveLength(4);

      // Delete: the first click only asks again.
      const del = item.locator('.rule-delete');
      await del.click();
      expect(await del.textContent()).toBe('Really delete?');
      expect(writes).toHaveLength(4);
      expect((await storedRules()).some((r) => r.id === stored.id)).toBe(true);
      await del.click();
      await expect.poll(() => message.textContent()).toBe('Deleted “Disk almost full”.');
      await expect.poll(() => item.count()).toBe(0);
      expect(writes[4]).toEqual({ method: 'DELETE', path: `/api/rules/${stored.id}`, body: undefined });
      expect((await storedRules()).some((r) => r.id === stored.id)).toBe(false);

      // The refusals asked for above (401 without the token, 400 for the hysteresis) are the only console errors.
      expect(g.problems.filter((p) => !/status of (400|401)/.test(p))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 90_000);
});
