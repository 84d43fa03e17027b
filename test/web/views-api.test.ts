// web/src/views-api.ts on its own in a real browser, its page served at the origin of a real hub (in
// process, local PostgreSQL, ADMIN_TOKEN set, no EDGE_URL): the token goes on every request, reads
// included (that is what shows a secret link); without it a link view's secret is hidden and changes
// are refused; saving, rotating and deleting through the real routes; refusals as ApiError with the
// hub's status and message.
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type * as AlertsApi from '../../web/src/alerts-api.ts';
import type { ViewDefinitionJson } from '../../web/src/view-form.ts';
import type * as ViewsApi from '../../web/src/views-api.ts';
import { CHROMIUM_PATH, openGuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const TOKEN = 'views-api-admin-token-0123456789';

type Outcome = { ok: true } | { ok: false; message: string; status?: number; apiError: boolean };
declare global {
  interface Window {
    viewsApi: typeof ViewsApi & { setAdminToken: typeof AlertsApi.setAdminToken; ApiError: typeof AlertsApi.ApiError };
    outcome(run: Promise<unknown>): Promise<Outcome>;
  }
}

const VIEW: ViewDefinitionJson = { slug: 'ops', title: 'Ops', machines: 'all', show: { id: false, hostname: false, labels: false, metrics: ['cpu_percent'] }, precision: { percent: 0 }, access: 'link' };

describe.skipIf(!hasChromium)('views-api', () => {
  let web: WebHub;
  let html: string;
  let base: string;

  beforeAll(async () => {
    html = await modulePage([
      "import * as viewsApi from './views-api.ts';",
      "import { ApiError, setAdminToken } from './alerts-api.ts';",
      'window.viewsApi = { ...viewsApi, setAdminToken, ApiError };',
      'window.outcome = (run) => run.then(() => ({ ok: true }), (e) => ({ ok: false, message: e.message, status: e.status, apiError: e instanceof ApiError }));',
    ]);
    web = await startWebHub({ name: 'views-api', env: { ADMIN_TOKEN: TOKEN }, dbMaxConnections: 2 });
    base = web.base;
  }, 90_000);

  afterAll(() => web?.close());

  /** Authorization of every views request the page makes. */
  function recordAuth(page: Page): Array<[string, string, string | undefined]> {
    const seen: Array<[string, string, string | undefined]> = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/public-views')) seen.push([r.method(), url.pathname, r.headers().authorization]);
    });
    return seen;
  }

  test('the token on every request; secrets, saves, rotation, deletion and refusals', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      const auth = recordAuth(page);
      await openModulePage(page, html, `${base}/module-page`);
      expect(await page.evaluate(() => window.viewsApi.fetchPublicViews())).toEqual({ edge: 'not configured (set EDGE_URL and EDGE_API_KEY)', views: [] });

      // Without the token: refused, with the hub's words.
      const hubSays = ((await (await fetch(`${base}/api/public-views/ops`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VIEW) })).json()) as { error: string }).error;
      expect(await page.evaluate((v) => window.outcome(window.viewsApi.savePublicView(v)), VIEW)).toEqual({ ok: false, message: hubSays, status: 401, apiError: true });

      await page.evaluate((t) => window.viewsApi.setAdminToken(t), TOKEN);
      const saved = await page.evaluate((v) => window.viewsApi.savePublicView(v), VIEW);
      expect(saved).toMatchObject({ view: { slug: 'ops', title: 'Ops', access: 'link' }, source: 'api', url: null, link: null });
      expect(saved.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);

      // The list shows the secret with the token, hides it without.
      const listed = await page.evaluate(() => window.viewsApi.fetchPublicViews());
      expect(listed.views).toEqual([expect.objectContaining({ source: 'api', secret: saved.secret })]);
      await page.evaluate(() => window.viewsApi.setAdminToken(''));
      const hidden = (await page.evaluate(() => window.viewsApi.fetchPublicViews())).views[0];
      expect(hidden).toMatchObject({ secret: null, secretHidden: true });
      await page.evaluate((t) => window.viewsApi.setAdminToken(t), TOKEN);

      // Rotating gives a new secret; the hub's validation message and a 404 come back as ApiErrors.
      const rotated = await page.evaluate(() => window.viewsApi.rotatePublicViewKey('ops'));
      expect(rotated.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(rotated.secret).not.toBe(saved.secret);
      const bad = await page.evaluate((v) => window.outcome(window.viewsApi.savePublicView({ ...v, slug: 'Bad Slug' })), VIEW);
      expect(bad).toMatchObject({ ok: false, status: 400, apiError: true, message: expect.stringMatching(/slug/) });
      expect(await page.evaluate(() => window.outcome(window.viewsApi.deletePublicView('no-such-view')))).toMatchObject({ ok: false, status: 404, apiError: true, message: expect.stringMatching(/no-such-view/) });

      await page.evaluate(() => window.viewsApi.deletePublicView('ops'));
      expect((await page.evaluate(() => window.viewsApi.fetchPublicViews())).views).toEqual([]);

      // Every request after the token was set carried it, reads included; a slug is sent encoded.
      const bearer = `Bearer ${TOKEN}`;
      expect(auth[0]).toEqual(['GET', '/api/public-views', undefined]);
      expect(auth[1]).toEqual(['PUT', '/api/public-views/ops', undefined]);
      expect(auth.slice(2, 4)).toEqual([
        ['PUT', '/api/public-views/ops', bearer],
        ['GET', '/api/public-views', bearer],
      ]);
      expect(auth[4]).toEqual(['GET', '/api/public-views', undefined]);
      expect(auth.slice(5)).toEqual([
        ['POST', '/api/public-views/ops/rotate-key', bearer],
        ['PUT', '/api/public-views/Bad%20Slug', bearer],
        ['DELETE', '/api/public-views/no-such-view', bearer],
        ['DELETE', '/api/public-views/ops', bearer],
        ['GET', '/api/public-views', bearer],
      ]);
      expect(g.problems.filter((p) => !/status of (400|401|404)/.test(p))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
