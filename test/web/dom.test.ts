// web/src/dom.ts on its own in a real browser: el() builds elements with class, text and attributes
// set as data (markup-looking text and attribute values stay text), children in order with the
// empty ones skipped; setText and setAttr write only on a change (no mutation otherwise); clear
// empties a node.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type * as Dom from '../../web/src/dom.ts';
import { CHROMIUM_PATH, HOSTILE_NAME, launchBrowser, openGuardedPage, type GuardedPage } from '../support/dashboard-checks.ts';
import { modulePage } from './module-page.ts';

const hasChromium = existsSync(CHROMIUM_PATH);

declare global {
  interface Window {
    dom: typeof Dom;
  }
}

describe.skipIf(!hasChromium)('dom', () => {
  let browser: Browser;
  let html: string;
  let g: GuardedPage;
  let page: Page;

  beforeAll(async () => {
    html = await modulePage(["import * as dom from './dom.ts';", 'window.dom = dom;']);
    browser = await launchBrowser();
    g = await openGuardedPage(browser, { viewport: { width: 400, height: 300 }, colorScheme: 'dark' });
    page = g.page;
    await page.setContent(html);
  }, 60_000);
  afterAll(async () => {
    await g?.close();
    await browser?.close();
  });

  test('el: class, text, attributes and children, nothing parsed as markup', async () => {
    const built = await page.evaluate((hostile) => {
      const { el } = window.dom;
      const child = el('span', { text: 'child' });
      const node = el('div', { class: 'card hot', text: hostile, attrs: { 'data-id': '"><b>x</b>', title: hostile } }, [child, 'plain', null, undefined, false, el('em', { text: '' })]);
      document.getElementById('host')!.append(node);
      return {
        tag: node.tagName,
        className: node.className,
        title: node.getAttribute('title'),
        dataId: node.dataset.id,
        childNodes: [...node.childNodes].map((n) => (n.nodeType === Node.TEXT_NODE ? `#text:${n.textContent}` : `${(n as Element).tagName}:${n.textContent}`)),
        elements: node.querySelectorAll('img, b').length,
        html: node.innerHTML,
      };
    }, HOSTILE_NAME);
    expect(built).toMatchObject({ tag: 'DIV', className: 'card hot', title: HOSTILE_NAME, dataId: '"><b>x</b>', elements: 0 });
    // The text first, then the children in order; null, undefined and false leave no trace.
    expect(built.childNodes).toEqual([`#text:${HOSTILE_NAME}`, 'SPAN:child', '#text:plain', 'EM:']);
    expect(built.html.startsWith('&lt;img src=x onerror=alert(1)&gt;')).toBe(true);
    expect(await page.evaluate(() => window.dom.el('p').outerHTML)).toBe('<p></p>');
  });

  test('setText and setAttr change the DOM only when the value differs; clear empties', async () => {
    const counts = await page.evaluate(() => {
      const { el, setText, setAttr, clear } = window.dom;
      const node = el('span', { text: 'a', attrs: { 'data-x': '1' } });
      document.getElementById('host')!.append(node);
      let mutations = 0;
      const observer = new MutationObserver((records) => (mutations += records.length));
      observer.observe(node, { childList: true, attributes: true, characterData: true, subtree: true });
      const step = (run: () => void) => {
        run();
        const seen = mutations + observer.takeRecords().length;
        mutations = 0;
        return seen;
      };
      const result = {
        sameText: step(() => setText(node, 'a')),
        newText: step(() => setText(node, 'b')),
        sameAttr: step(() => setAttr(node, 'data-x', '1')),
        newAttr: step(() => setAttr(node, 'data-x', '2')),
        text: node.textContent,
        attr: node.getAttribute('data-x'),
      };
      const box = el('div', {}, [el('i'), 'x', el('b')]);
      clear(box);
      observer.disconnect();
      return { ...result, cleared: box.childNodes.length };
    });
    expect(counts).toEqual({ sameText: 0, newText: 1, sameAttr: 0, newAttr: 1, text: 'b', attr: '2', cleared: 0 });
    expect(g.problems).toEqual([]);
  });
});
