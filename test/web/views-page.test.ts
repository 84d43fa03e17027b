// The hub dashboard's public-views page in a real browser (playwright-core + Debian Chromium) against a
// real hub (PostgreSQL for the stored views) whose EDGE_URL points at a local WebSocket server playing
// the relay: create a view with the form, see its public URL (the secret link), change it, rotate the
// link, delete it — and the relay receives the config, new config and revoke frames. Screenshots of
// the page at desktop and phone widths go to test-output/screenshots.
// Then a hub with ADMIN_TOKEN, a PUBLIC_VIEWS_FILE and no EDGE_URL: the file's view is listed read-only
// (rotate only), secret links hidden until the token is set; what the form refuses itself (nothing
// sent), the definition it sends for machines by id and label (PUT body, what the hub stores, the
// line listed), the form filled back on edit, and the words for a hub that publishes nothing.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../web/build.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { startCaptureRelay, type CaptureRelay } from '../support/capture-relay.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';

const hasChromium = existsSync(CHROMIUM_PATH);
const EDGE_KEY = 'edge-key-views-page-test';
const dir = tempDir('views-page');
let browser: Browser;
let hub: Hub;
let relay: CaptureRelay;
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  if (!hasChromium) return;
  await ensureWebBuilt();
  db = await createTestDatabase();
  relay = await startCaptureRelay(EDGE_KEY);
  const config = parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', DATA_DIR: dir.path, TIMESCALE_URL: db.url, EDGE_URL: relay.url, EDGE_API_KEY: EDGE_KEY, EDGE_PUSH_INTERVAL: '0.1' });
  hub = await startHub(config, { log: pino({ level: 'silent' }), dbMaxConnections: 2 });
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await relay?.close();
  await db?.drop();
  dir.remove();
});

describe.skipIf(!hasChromium)('hub dashboard: public views page', () => {
  it('creates, changes, rotates and deletes a view; shows its public URL', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      await page.goto(`http://127.0.0.1:${hub.httpPort}/#/views`);
      await expect.poll(() => page.locator('.views-page h1').textContent()).toBe('Public views');
      await expect.poll(() => page.locator('.views-page .alerts-empty').isVisible()).toBe(true);
      expect(await page.locator('.views-nav').isVisible()).toBe(true);

      await page.click('.new-view');
      await page.fill('.vf-slug', 'status');
      await page.fill('.vf-title', 'Public status');
      await page.selectOption('.vf-access', 'link');
      await page.uncheck('.vf-metric-disk_percent');
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hub-public-views-form.png'), fullPage: true });
      await page.click('.vf-save');
      const item = page.locator('.view-item[data-slug="status"]');
      await expect.poll(() => item.count()).toBe(1);
      const base = relay.url.replace('ws://', 'http://').replace('/ingest', '');
      const href = (await item.locator('.view-link').getAttribute('href'))!;
      expect(href).toMatch(new RegExp(`^${base.replace(/[.]/g, '\\.')}/v/status\\?key=[A-Za-z0-9_-]{32}$`));
      expect(await item.locator('.rule-desc').textContent()).toBe('every machine · 5 metrics · names only · secret link');
      const view = relay.view('status');
      await waitFor('config at the edge', () => view.configs.length === 1);
      expect(view.configs[0]).toMatchObject({ title: 'Public status', access: 'link', metrics: [0, 1, 3, 4, 5] });

      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hub-public-views-desktop.png'), fullPage: true });

      await item.locator('.view-edit').click();
      await page.fill('.vf-title', 'Status page');
      await page.click('.vf-save');
      await waitFor('changed title at the edge', () => view.configs.at(-1)?.title === 'Status page');

      await page.locator('.view-item[data-slug="status"] .view-rotate').click();
      await waitFor('rotated key at the edge', () => view.configs.length === 3 && view.configs[2].keyHash !== view.configs[1].keyHash);
      await expect.poll(() => page.locator('.view-item[data-slug="status"] .view-link').getAttribute('href')).not.toBe(href);

      // Form errors from the hub are shown as they are (the field named).
      await page.click('.new-view');
      await page.fill('.vf-slug', 'Bad Slug');
      await page.click('.vf-save');
      await expect.poll(() => page.locator('.views-page .form-message').textContent()).toMatch(/view\.slug: must match/);
      await page.click('.vf-cancel');

      const phone = await openGuardedPage(browser, { viewport: { width: 360, height: 780 }, colorScheme: 'light' });
      await phone.page.goto(`http://127.0.0.1:${hub.httpPort}/#/views`);
      await expect.poll(() => phone.page.locator('.view-item').count()).toBe(1);
      await phone.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hub-public-views-phone.png'), fullPage: true });
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await phone.close();

      const del = page.locator('.view-item[data-slug="status"] .view-delete');
      await del.click();
      expect(await del.textContent()).toBe('Delete: sure?');
      await del.click();
      await expect.poll(() => page.locator('.view-item').count()).toBe(0);
      await waitFor('revoked at the edge', () => view.revoked);
      // The one 400 is the deliberate invalid slug above.
      expect(g.problems.filter((p) => !p.includes('400 (Bad Request)'))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});

describe.skipIf(!hasChromium)('hub dashboard: public views page, admin token and no edge', () => {
  const ADMIN = 'views-page-admin-token-0123456789';
  const fileDir = tempDir('views-page-noedge');
  let noEdge: Hub;
  let noEdgeDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let base: string;
  const stored = async () =>
    ((await (await fetch(`${base}/api/public-views`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { views: Array<{ view: Record<string, unknown>; source: string; secret?: string }> }).views;

  beforeAll(async () => {
    noEdgeDb = await createTestDatabase();
    const file = path.join(fileDir.path, 'views.yaml');
    writeFileSync(file, 'views:\n  - slug: board\n    title: Board\n    machines: all\n    access: link\n');
    const config = parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', DATA_DIR: fileDir.path, TIMESCALE_URL: noEdgeDb.url, ADMIN_TOKEN: ADMIN, PUBLIC_VIEWS_FILE: file });
    noEdge = await startHub(config, { log: pino({ level: 'silent' }), dbMaxConnections: 2 });
    base = `http://127.0.0.1:${noEdge.httpPort}`;
  }, 60_000);
  afterAll(async () => {
    await noEdge?.close();
    await noEdgeDb?.drop();
    fileDir.remove();
  });

  /** The writes the page sends to the views API, in order. */
  function recordWrites(page: Page): Array<{ method: string; path: string; body: unknown }> {
    const writes: Array<{ method: string; path: string; body: unknown }> = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (!url.pathname.startsWith('/api/public-views') || r.method() === 'GET') return;
      const data = r.postData();
      writes.push({ method: r.method(), path: url.pathname, body: data ? JSON.parse(data) : undefined });
    });
    return writes;
  }

  it('file views read-only, refusals on the page, the definition sent, edit, and no edge', async () => {
    const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
    try {
      const { page } = g;
      const writes = recordWrites(page);
      await page.goto(`${base}/#/views`);
      const root = page.locator('.views-page');
      const message = root.locator('.form-message');
      await expect.poll(() => root.locator('.views-edge').textContent()).toBe('Edge: not configured (set EDGE_URL and EDGE_API_KEY).');
      expect(await page.title()).toBe('sysmonstm · public views');

      // The file's view: listed, not editable here; its secret link hidden without the token.
      const board = root.locator('.view-item[data-slug="board"]');
      await expect.poll(() => board.count()).toBe(1);
      expect(await root.locator('.alerts-empty').isHidden()).toBe(true);
      expect(await board.locator('.rule-name').textContent()).toBe('Board (board)');
      expect(await board.locator('.rule-desc').textContent()).toBe('every machine · 6 metrics · names only · secret link');
      expect(await board.locator('.view-url').textContent()).toBe('secret link hidden: set the admin token to see it');
      expect(await board.locator('.alert-actions').textContent()).toContain('from PUBLIC_VIEWS_FILE');
      expect(await board.locator('.view-edit, .view-delete').count()).toBe(0);
      expect(await board.locator('.view-rotate').count()).toBe(1);

      // The new-view form: its defaults; the id and label fields only for "machines by id or label".
      await root.locator('.new-view').click();
      const form = root.locator('.view-form');
      expect(await form.locator('.form-title').textContent()).toBe('New public view');
      expect(await form.locator('.vf-slug').isDisabled()).toBe(false);
      expect(await form.locator('.vf-selection').inputValue()).toBe('all');
      expect(await form.locator('.vf-access').inputValue()).toBe('public');
      const checked = await form.locator('.vf-metric').evaluateAll((boxes) => boxes.filter((b) => (b as HTMLInputElement).checked).map((b) => b.className.replace(/^vf-metric vf-metric-/, '')));
      expect(checked).toEqual(['cpu_percent', 'memory_percent', 'disk_percent', 'load_avg_1m', 'network_recv_bytes_sec', 'network_sent_bytes_sec']);
      const ids = form.locator('.vf-ids');
      expect(await ids.isHidden()).toBe(true);
      await form.locator('.vf-selection').selectOption('some');
      expect(await ids.isVisible()).toBe(true);

      // Refused on the page: nothing reaches the hub.
      await form.locator('.vf-slug').fill('ops');
      await form.locator('.vf-save').click();
      await expect.poll(() => message.textContent()).toBe('machines: give ids and/or labels, or choose every machine');
      expect(await message.getAttribute('data-kind')).toBe('error');
      await form.locator('.vf-labels').fill('env=prod, tier');
      await form.locator('.vf-save').click();
      await expect.poll(() => message.textContent()).toBe('labels: "tier" is not key=value');
      expect(writes).toEqual([]);

      // Without the token the hub refuses, and the page says what it said.
      await form.locator('.vf-labels').fill('env=prod');
      await ids.fill('web-1 web-2');
      await form.locator('.vf-show-hostname').check();
      await form.locator('.vf-metric-load_avg_1m').uncheck();
      await form.locator('.vf-metric-swap_percent').check();
      await form.locator('.vf-percent').selectOption('1');
      await form.locator('.vf-save').click();
      await expect.poll(() => message.textContent()).toMatch(/ADMIN_TOKEN/);
      expect(writes).toHaveLength(1);
      const definition = {
        slug: 'ops',
        title: 'ops',
        machines: { ids: ['web-1', 'web-2'], labels: { env: 'prod' } },
        show: { id: false, hostname: true, labels: false, metrics: ['cpu_percent', 'memory_percent', 'disk_percent', 'network_recv_bytes_sec', 'network_sent_bytes_sec', 'swap_percent'] },
        precision: { percent: 1 },
        access: 'public',
      };
      expect(writes[0]).toEqual({ method: 'PUT', path: '/api/public-views/ops', body: definition });
      expect((await stored()).map((v) => v.view.slug)).toEqual(['board']);

      // With the token: saved (the hub has no edge to publish it at), listed, and the file's link shown as unpublished.
      await root.locator('.admin-token').fill(ADMIN);
      await root.locator('.token-save').click();
      await expect.poll(() => board.locator('.view-url').textContent()).toBe('not published: the hub has no EDGE_URL');
      await form.locator('.vf-save').click();
      await expect.poll(() => message.textContent()).toBe('Saved “ops”. Set EDGE_URL to publish it.');
      expect(await message.getAttribute('data-kind')).toBe('ok');
      expect(await form.isHidden()).toBe(true);
      expect(writes[1]).toEqual(writes[0]);
      const ops = root.locator('.view-item[data-slug="ops"]');
      await expect.poll(() => ops.count()).toBe(1);
      expect(await ops.locator('.rule-name').textContent()).toBe('ops (ops)');
      expect(await ops.locator('.rule-desc').textContent()).toBe('2 listed or env=prod · 6 metrics · shows hostnames · public');
      expect(await ops.locator('.view-url').textContent()).toBe('not published: the hub has no EDGE_URL');
      expect(await ops.locator('.view-rotate').count()).toBe(0);
      expect((await stored()).find((v) => v.view.slug === 'ops')).toMatchObject({ source: 'api', view: { title: 'ops', machines: { ids: ['web-1', 'web-2'], labels: { env: 'prod' } }, show: { hostname: true }, access: 'public' } });

      // Edit: the form is filled back from the stored view; the slug stays.
      await ops.locator('.view-edit').click();
      expect(await form.locator('.form-title').textContent()).toBe('Change view “ops”');
      expect(await form.locator('.vf-slug').isDisabled()).toBe(true);
      expect(await form.locator('.vf-slug').inputValue()).toBe('ops');
      expect(await form.locator('.vf-title').inputValue()).toBe('ops');
      expect(await form.locator('.vf-selection').inputValue()).toBe('some');
      expect(await ids.inputValue()).toBe('web-1, web-2');
      expect(await form.locator('.vf-labels').inputValue()).toBe('env=prod');
      expect(await form.locator('.vf-show-hostname').isChecked()).toBe(true);
      expect(await form.locator('.vf-show-id').isChecked()).toBe(false);
      expect(await form.locator('.vf-metric-swap_percent').isChecked()).toBe(true);
      expect(await form.locator('.vf-metric-load_avg_1m').isChecked()).toBe(false);
      expect(await form.locator('.vf-percent').inputValue()).toBe('1');
      await form.locator('.vf-title').fill('Operations');
      await form.locator('.vf-selection').selectOption('all');
      await form.locator('.vf-access').selectOption('link');
      await form.locator('.vf-save').click();
      await expect.poll(() => ops.locator('.rule-desc').textContent()).toBe('every machine · 6 metrics · shows hostnames · secret link');
      expect(await ops.locator('.rule-name').textContent()).toBe('Operations (ops)');
      expect(writes[2]).toEqual({ method: 'PUT', path: '/api/public-views/ops', body: { ...definition, title: 'Operations', machines: 'all', access: 'link' } });

      // Rotate the file view's link: a new secret, said on the page.
      const before = (await stored()).find((v) => v.view.slug === 'board')!.secret;
      expect(before).toBeTruthy();
      await board.locator('.view-rotate').click();
      await expect.poll(() => message.textContent()).toBe('New link for “board”: viewers with the old one are disconnected.');
      expect(writes[3]).toEqual({ method: 'POST', path: '/api/public-views/board/rotate-key', body: undefined });
      expect((await stored()).find((v) => v.view.slug === 'board')!.secret).not.toBe(before);

      // Cancel sends nothing; delete asks once more, then the view goes.
      await ops.locator('.view-edit').click();
      await form.locator('.vf-cancel').click();
      expect(await form.isHidden()).toBe(true);
      const del = ops.locator('.view-delete');
      await del.click();
      expect(writes).toHaveLength(4);
      await del.click();
      await expect.poll(() => message.textContent()).toBe('Deleted “ops”: its viewers are disconnected.');
      await expect.poll(() => ops.count()).toBe(0);
      expect(writes[4]).toEqual({ method: 'DELETE', path: '/api/public-views/ops', body: undefined });
      expect((await stored()).map((v) => v.view.slug)).toEqual(['board']);
      // The one refusal asked for above (401 without the token) is the only console error.
      expect(g.problems.filter((p) => !p.includes('401 (Unauthorized)'))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);
});
