// Test support: a PUBLIC_VIEWS_FILE with one `default` view that shows every machine as the hub has
// it (ids, hostnames, labels, every live metric, the finest precision) — for suites that test the
// relay chain rather than what a view hides. Since public views, a hub forwards nothing without one.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { LIVE_METRICS } from '../../proto/delta.ts';

export const EVERYTHING_VIEW = {
  slug: 'default',
  title: 'Everything',
  machines: 'all',
  show: { id: true, hostname: true, labels: true, metrics: [...LIVE_METRICS] },
  precision: { percent: 2, load: 2, rate: 6 },
} as const;

/** Writes the file into `dir` and returns its path (for PUBLIC_VIEWS_FILE). */
export function writeEverythingViewFile(dir: string): string {
  const file = path.join(dir, 'public-views.json');
  writeFileSync(file, JSON.stringify({ views: [EVERYTHING_VIEW] }, null, 2));
  return file;
}
