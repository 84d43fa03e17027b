// No merge-conflict markers in any tracked file: a half-resolved merge once left one in the README's
// configuration table. Lines that start with the markers git writes (`<<<<<<< ` and `>>>>>>> `).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MARKER = /^(<{7}|>{7})( |$)/m;

test('no tracked file holds a merge-conflict marker', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const offenders: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(path.join(ROOT, file), 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    if (text.includes('\0')) continue; // binary
    const m = MARKER.exec(text);
    if (m) offenders.push(`${file}:${text.slice(0, m.index).split('\n').length}`);
  }
  expect(offenders).toEqual([]);
});
