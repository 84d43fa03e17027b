// web/src/channel-editor.ts on its own in a real browser, its page served at the origin of a real hub
// (in process, local PostgreSQL, no ADMIN_TOKEN: the hub machine itself may change things) and a
// local webhook receiver: the empty list; a named channel of a chosen type (the body sent, the saved
// message with its id, the form emptied, the line listed); the hub's refusal shown as it says it; a
// test that is delivered and one that is not (the channel's answer shown); delete on the second
// click; and the message when the hub cannot be reached.
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ChannelEditor, createChannelEditor } from '../../web/src/channel-editor.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.ts';
import { CHROMIUM_PATH, openGuardedPage } from '../support/dashboard-checks.ts';
import { modulePage, openModulePage } from './module-page.ts';
import { startWebHub, type WebHub } from './web-hub-fixture.ts';

const hasChromium = existsSync(CHROMIUM_PATH);

declare global {
  interface Window {
    channels: { createChannelEditor: typeof createChannelEditor; editor?: ChannelEditor };
  }
}

interface StoredChannel {
  id: string;
  name: string;
  type: string;
  url: string;
  has_secret?: boolean;
}

describe.skipIf(!hasChromium)('the channel editor', () => {
  let web: WebHub;
  let receiver: HttpReceiver;
  let html: string;
  let base: string;
  const stored = () => web.getJson<StoredChannel[]>('/api/channels');

  beforeAll(async () => {
    html = await modulePage([
      "import './styles.css';",
      "import { createChannelEditor } from './channel-editor.ts';",
      'window.channels = { createChannelEditor };',
    ]);
    receiver = await startHttpReceiver();
    web = await startWebHub({ name: 'channel-editor', env: { NOTIFY_ALLOW_PRIVATE: '1' } });
    base = web.base;
  }, 90_000);

  afterAll(async () => {
    await web?.close();
    await receiver?.close();
  });

  async function mount(page: Page): Promise<void> {
    await openModulePage(page, html, `${base}/module-page`);
    await page.evaluate(() => {
      const c = window.channels;
      c.editor = c.createChannelEditor();
      document.getElementById('host')!.append(c.editor.root);
      return c.editor.load();
    });
  }

  test('add, refuse, test, delete', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1000, height: 800 }, colorScheme: 'dark' });
    try {
      const { page } = g;
      const posts: unknown[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/channels' && r.method() === 'POST') posts.push(JSON.parse(r.postData()!));
      });
      await mount(page);
      const editor = page.locator('.channel-editor');
      const message = editor.locator('.form-message');
      expect(await message.isHidden()).toBe(true);
      expect(await editor.locator('.channel-list').textContent()).toBe('No saved channels yet. Rules may also carry their own.');
      expect(await editor.locator('.channel-type option').allTextContents()).toEqual(['webhook', 'slack', 'discord', 'ntfy']);

      // Refused by the hub: its message as it says it; nothing stored.
      await editor.locator('.channel-url').fill('ftp://files.example.com/x');
      await editor.locator('.channel-add').click();
      await expect.poll(() => message.textContent()).toMatch(/url must be an http\(s\) URL$/);
      expect(await message.getAttribute('data-kind')).toBe('error');
      expect(await stored()).toEqual([]);

      // A named channel of another type: the body sent, the saved message, the form emptied, the line.
      await editor.locator('.channel-name').fill('  ops on-call  ');
      await editor.locator('.channel-type').selectOption('ntfy');
      await editor.locator('.channel-url').fill(`  ${receiver.url}/ntfy-topic  `);
      await editor.locator('.channel-add').click();
      await expect.poll(() => message.getAttribute('data-kind')).toBe('ok');
      expect(posts.at(-1)).toEqual({ type: 'ntfy', url: `${receiver.url}/ntfy-topic`, name: 'ops on-call' });
      const [channel] = await stored();
      expect(channel).toMatchObject({ name: 'ops on-call', type: 'ntfy', url: `${receiver.url}/ntfy-topic` });
      expect(await message.textContent()).toBe(`Saved “ops on-call” as ${channel.id}. Rules name it by that id.`);
      for (const field of ['.channel-name', '.channel-url', '.channel-secret']) expect(await editor.locator(field).inputValue()).toBe('');
      const item = editor.locator(`.channel-item[data-channel="${channel.id}"]`);
      await expect.poll(() => item.count()).toBe(1);
      expect(await item.locator('.rule-name').textContent()).toBe('ops on-call');
      expect(await item.locator('.rule-desc').textContent()).toBe(`${channel.id} · ntfy · ${receiver.url}/ntfy-topic`);

      // A test the channel answers with 200, then one it refuses with 503.
      await item.locator('.channel-test').click();
      await expect.poll(() => item.locator('.channel-test-result').textContent()).toBe('Delivered (HTTP 200).');
      expect(await item.locator('.channel-test-result').getAttribute('data-ok')).toBe('true');
      expect(receiver.requests.filter((r) => r.path === '/ntfy-topic')).toHaveLength(1);
      receiver.setBehaviour({ kind: 'status', status: 503 });
      await item.locator('.channel-test').click();
      await expect.poll(() => item.locator('.channel-test-result').getAttribute('data-ok')).toBe('false');
      expect(await item.locator('.channel-test-result').textContent()).toMatch(/^Not delivered: .*503.*\.$/);
      receiver.setBehaviour({ kind: 'ok' });

      // Delete: the first click asks again.
      const del = item.locator('.channel-delete');
      await del.click();
      expect(await del.textContent()).toBe('Really delete?');
      expect(await stored()).toHaveLength(1);
      await del.click();
      await expect.poll(() => message.textContent()).toBe('Deleted “ops on-call”.');
      await expect.poll(() => item.count()).toBe(0);
      expect(await stored()).toEqual([]);
      expect(await editor.locator('.channel-list').textContent()).toBe('No saved channels yet. Rules may also carry their own.');
      // The one 400 asked for above is the only console error.
      expect(g.problems.filter((p) => !p.includes('400 (Bad Request)'))).toEqual([]);
    } finally {
      await g.close();
    }
  }, 60_000);

  test('the hub gone (the last test here): the list says it could not load', async () => {
    const g = await openGuardedPage(web.browser, { viewport: { width: 1000, height: 800 }, colorScheme: 'light' });
    try {
      const { page } = g;
      await mount(page);
      await web.hub.close();
      await page.evaluate(() => window.channels.editor!.load());
      expect(await page.locator('.channel-editor .form-message').textContent()).toMatch(/^Could not load the channels: .+/);
    } finally {
      await g.close();
    }
  }, 60_000);
});
