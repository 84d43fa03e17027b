// web/src/alerts-api.ts on its own in a real browser, its page served at the origin of a real hub (in
// process, local PostgreSQL, ADMIN_TOKEN set, a synthetic collector, a local webhook receiver): the
// admin token kept per tab and sent on writes only; refusals as ApiError with the hub's status and
// message; rules, alerts (acknowledge, silence, history), saved channels (with a delivered test) and
// machine settings through the real routes.
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type * as AlertsApi from '../../web/src/alerts-api.ts';
import type { RuleJson } from '../../web/src/rule-form.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.ts';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { CHROMIUM_PATH, openGuardedPage, type GuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const TOKEN = 'alerts-api-admin-token-0123456789';
const MACHINE = 'aa-box';

type Outcome<T> = { ok: true; value: T } | { ok: false; message: string; status?: number; apiError: boolean };
declare global {
  interface Window {
    alertsApi: typeof AlertsApi;
    attempt<T>(run: Promise<T>): Promise<Outcome<T>>;
  }
}

describe.skipIf(!hasChromium)('alerts-api', () => {
  let web: WebHub;
  let receiver: HttpReceiver;
  let html: string;
  let base: string;

  beforeAll(async () => {
    html = await modulePage([
      "import * as alertsApi from './alerts-api.ts';",
      'window.alertsApi = alertsApi;',
      'window.attempt = (run) => run.then((value) => ({ ok: true, value }), (e) => ({ ok: false, message: e.message, status: e.status, apiError: e instanceof alertsApi.ApiError }));',
    ]);
    receiver = await startHttpReceiver();
    web = await startWebHub({ name: 'alerts-api', env: { ADMIN_TOKEN: TOKEN, HISTORY_FLUSH_INTERVAL: '0.05', NOTIFY_ALLOW_PRIVATE: '1' } });
    base = web.base;
    web.feed(MACHINE, { report: (m, seq) => syntheticReport(m, seq, Date.now(), 42), everyMs: 250 });
    await waitFor('the machine', async () => (await web.getJson<unknown[]>('/api/machines')).length === 1);
  }, 90_000);

  afterAll(async () => {
    await web?.close();
    await receiver?.close();
  });

  async function withApiPage(run: (page: Page, g: GuardedPage) => Promise<void>): Promise<void> {
    const g = await openGuardedPage(web.browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
    try {
      await openModulePage(g.page, html, `${base}/module-page`);
      await run(g.page, g);
    } finally {
      await g.close();
    }
  }

  /** Authorization header of each API request the page makes, by method and path. */
  function recordAuth(page: Page): Array<{ method: string; path: string; authorization: string | undefined }> {
    const seen: Array<{ method: string; path: string; authorization: string | undefined }> = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/')) seen.push({ method: r.method(), path: url.pathname, authorization: r.headers().authorization });
    });
    return seen;
  }

  const RULE: Omit<RuleJson, 'id'> = { name: 'CPU busy', metric: 'cpu_percent', op: '>', threshold: 30, for_s: 0, clear_threshold: 30, severity: 'critical', scope: {}, channels: [], repeat_s: 0, mount: null };

  test('the token: per tab, on writes only; refusals carry the hub\'s status and message', async () => {
    await withApiPage(async (page, g) => {
      const auth = recordAuth(page);
      expect(await page.evaluate(() => window.alertsApi.fetchAdminTokenRequired())).toBe(true);
      expect(await page.evaluate(() => window.alertsApi.adminToken())).toBe('');

      // Without the token: 401, the hub's words, an ApiError.
      const refused = await page.evaluate((rule) => window.attempt(window.alertsApi.saveRule(rule, undefined)), RULE);
      const hubSays = await (await fetch(`${base}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(RULE) })).json();
      expect(refused).toEqual({ ok: false, message: (hubSays as { error: string }).error, status: 401, apiError: true });
      expect(refused.ok === false && refused.message).toMatch(/ADMIN_TOKEN/);

      // With it: kept in this tab's sessionStorage and sent on writes, never on reads.
      await page.evaluate((t) => window.alertsApi.setAdminToken(t), TOKEN);
      expect(await page.evaluate(() => sessionStorage.getItem('sysmonstm.adminToken'))).toBe(TOKEN);
      const saved = await page.evaluate((rule) => window.alertsApi.saveRule(rule, undefined), RULE);
      expect(saved).toMatchObject({ name: 'CPU busy', metric: 'cpu_percent', threshold: 30, severity: 'critical' });
      expect(typeof saved.id).toBe('string');
      const rules = await page.evaluate(() => window.alertsApi.fetchRules());
      expect(rules.map((r) => r.id)).toContain(saved.id);
      const changed = await page.evaluate(({ rule, id }) => window.alertsApi.saveRule({ ...rule, threshold: 35, clear_threshold: 35 }, id), { rule: RULE, id: saved.id });
      expect(changed).toMatchObject({ id: saved.id, threshold: 35 });
      const bearer = `Bearer ${TOKEN}`;
      expect(auth.filter((a) => a.method === 'GET').every((a) => a.authorization === undefined)).toBe(true);
      expect(auth.filter((a) => a.method !== 'GET').map((a) => [a.method, a.path, a.authorization])).toEqual([
        ['POST', '/api/rules', undefined],
        ['POST', '/api/rules', bearer],
        ['PUT', `/api/rules/${saved.id}`, bearer],
      ]);

      // The hub's validation message and a 404, as ApiErrors.
      expect(await page.evaluate((rule) => window.attempt(window.alertsApi.saveRule({ ...rule, threshold: 500 }, undefined)), RULE)).toEqual({
        ok: false,
        message: 'threshold must be between 0 and 100',
        status: 400,
        apiError: true,
      });
      expect(await page.evaluate(() => window.alertsApi.deleteRule('no-such-rule').then(() => 'deleted', (e: AlertsApi.ApiError) => e.status))).toBe(404);

      // Another tab of the same browser has no token; clearing it removes it.
      const other = await g.context.newPage();
      await openModulePage(other, html, `${base}/module-page`);
      expect(await other.evaluate(() => window.alertsApi.adminToken())).toBe('');
      await other.close();
      await page.evaluate(() => window.alertsApi.setAdminToken(''));
      expect(await page.evaluate(() => sessionStorage.getItem('sysmonstm.adminToken'))).toBeNull();
      await page.evaluate((t) => window.alertsApi.setAdminToken(t), TOKEN);
      await page.evaluate((id) => window.alertsApi.deleteRule(id), saved.id);
      expect((await page.evaluate(() => window.alertsApi.fetchRules())).map((r) => r.id)).not.toContain(saved.id);
      // The only console errors are the refusals asked for (401, 400, 404).
      expect(g.problems.filter((p) => !/status of (400|401|404)/.test(p))).toEqual([]);
    });
  }, 60_000);

  test('alerts: active, acknowledge, silence, history', async () => {
    await withApiPage(async (page) => {
      await page.evaluate((t) => window.alertsApi.setAdminToken(t), TOKEN);
      const rule = await page.evaluate((r) => window.alertsApi.saveRule({ ...r, name: 'CPU alert' }, undefined), RULE);
      await expect.poll(async () => (await page.evaluate(() => window.alertsApi.fetchActiveAlerts())).map((a) => [a.rule_id, a.state]), { timeout: 15_000 }).toEqual([[rule.id, 'firing']]);
      const [alert] = await page.evaluate(() => window.alertsApi.fetchActiveAlerts());
      expect(alert).toMatchObject({ rule_id: rule.id, rule_name: 'CPU alert', machine: MACHINE, severity: 'critical', metric: 'cpu_percent', value: 42, acknowledged: false, silenced_until: null });

      await page.evaluate(({ id, m }) => window.alertsApi.acknowledgeAlert(id, m), { id: rule.id, m: MACHINE });
      expect((await page.evaluate(() => window.alertsApi.fetchActiveAlerts()))[0].acknowledged).toBe(true);
      const before = Date.now();
      await page.evaluate(({ id, m }) => window.alertsApi.silenceAlert(id, m, 600), { id: rule.id, m: MACHINE });
      const until = (await page.evaluate(() => window.alertsApi.fetchActiveAlerts()))[0].silenced_until!;
      expect(Math.abs(until - (before + 600_000))).toBeLessThan(30_000);
      await page.evaluate(({ id, m }) => window.alertsApi.silenceAlert(id, m, 0), { id: rule.id, m: MACHINE });
      expect((await page.evaluate(() => window.alertsApi.fetchActiveAlerts()))[0].silenced_until).toBeNull();

      // The transition and the actions are in the history; `before` pages back past an entry.
      await expect.poll(async () => (await page.evaluate(() => window.alertsApi.fetchAlertHistory(10))).filter((e) => e.rule_id === rule.id).length).toBe(4);
      const history = await page.evaluate(() => window.alertsApi.fetchAlertHistory(10));
      // Newest first: the silence lifted, the silence, the acknowledgement, the firing.
      const ofRule = history.filter((e) => e.rule_id === rule.id);
      expect(ofRule.map((e) => e.state)).toEqual(['silenced', 'silenced', 'acknowledged', 'firing']);
      const firing = ofRule.at(-1)!;
      expect(firing).toMatchObject({ machine: MACHINE, state: 'firing', metric: 'cpu_percent' });
      expect(history.map((e) => e.id)).toEqual([...history.map((e) => e.id)].sort((a, b) => b - a));
      expect((await page.evaluate((id) => window.alertsApi.fetchAlertHistory(10, id), firing.id)).every((e) => e.id < firing.id)).toBe(true);
      await page.evaluate((id) => window.alertsApi.deleteRule(id), rule.id);
    });
  }, 60_000);

  test('saved channels and machine settings', async () => {
    await withApiPage(async (page) => {
      await page.evaluate((t) => window.alertsApi.setAdminToken(t), TOKEN);
      const channel = await page.evaluate((url) => window.alertsApi.createChannel({ type: 'webhook', url, secret: 's3cret' }), `${receiver.url}/hook`);
      expect(channel).toMatchObject({ type: 'webhook', url: `${receiver.url}/hook`, name: `webhook ${new URL(receiver.url).host}` });
      expect((await page.evaluate(() => window.alertsApi.fetchChannels())).map((c) => c.id)).toEqual([channel.id]);
      expect(await page.evaluate((id) => window.alertsApi.testChannel(id), channel.id)).toEqual({ ok: true, http_status: 200 });
      expect(receiver.requests.filter((r) => r.path === '/hook')).toHaveLength(1);
      await page.evaluate((id) => window.alertsApi.deleteChannel(id), channel.id);
      expect(await page.evaluate(() => window.alertsApi.fetchChannels())).toEqual([]);

      expect(await page.evaluate((m) => window.alertsApi.fetchMachineSettings(m), MACHINE)).toEqual({ intervalMs: 0 });
      await page.evaluate((m) => window.alertsApi.saveMachineSettings(m, { intervalMs: 2000 }), MACHINE);
      expect(await page.evaluate((m) => window.alertsApi.fetchMachineSettings(m), MACHINE)).toEqual({ intervalMs: 2000 });
      await page.evaluate((m) => window.alertsApi.saveMachineSettings(m, { intervalMs: 0 }), MACHINE);
      expect(await page.evaluate((m) => window.alertsApi.fetchMachineSettings(m), MACHINE)).toEqual({ intervalMs: 0 });
    });
  }, 60_000);
});
