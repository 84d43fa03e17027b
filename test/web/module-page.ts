// A dashboard module on its own in a real browser: the entry's lines (resolved from web/src) import
// what a test needs, CSS included, and put it on `window`; esbuild bundles them into one
// self-contained HTML page for `page.setContent`. No hub and no dashboard around the module.
import path from 'node:path';
import * as esbuild from 'esbuild';

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
