// PUBLIC_VIEWS_FILE: the owner's public views in a file (YAML, or JSON — a JSON document is YAML too),
// top level `views: [...]`. Read once at start by the hub's config; every problem is one line naming
// the field (`views[1].machines.labels: …`). The file's views are read-only through the API.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parsePublicViewsDocument, type PublicViewDefinition } from '../../proto/public-view.ts';

/** The views in a file's text; throws an Error with a one-line message naming the field or the line. */
export function parseViewsFileText(text: string): PublicViewDefinition[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const e = err as Error & { linePos?: Array<{ line: number; col: number }> };
    const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new Error(`not valid YAML or JSON${at}: ${firstLine(e.message)}`);
  }
  if (doc === null || doc === undefined) throw new Error('the file is empty (write `views: []` to publish nothing)');
  return parsePublicViewsDocument(doc);
}

export function loadViewsFile(file: string): PublicViewDefinition[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${firstLine((err as Error).message)}`);
  }
  return parseViewsFileText(text);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0].trim();
}
