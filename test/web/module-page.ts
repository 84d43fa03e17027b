// A dashboard module on its own in a real browser: the entry's lines (resolved from web/src) import
// what a test needs, CSS included, and put it on `window`; esbuild bundles them into one
// self-contained HTML page, for `page.setContent` or served by openModulePage at an origin (for
// localStorage, or a real hub's API under the page). No dashboard around the module.
import path from 'node:path';
import * as esbuild from 'esbuild';
import type { Page } from 'playwright-core';

const WEB_SRC = path.resolve(import.meta.dirname, '../../web/src');

export async function modulePage(entry: string[], body = '<div id="host"></div>'): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents: entry.join('\n'), resolveDir: WEB_SRC, sourcefile: 'module-page.ts', loader: 'ts' },
    bundle: true,
    format: 'iife',
    target: ['chrome109'],
    outdir: 'out',
    write: false,
    logLevel: 'warning',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  // `</script` inside the bundle would end the inline script early.
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}</style></head><body>${body}<script>${js.replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
}

/**
 * Opens `html` as the document at `url`: the browser gets the document from the test, everything the
 * page asks for afterwards (fetch, WebSocket) from the real server at that origin.
 */
export async function openModulePage(page: Page, html: string, url = 'http://module-page.test/'): Promise<void> {
  await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  await page.goto(url);
}
