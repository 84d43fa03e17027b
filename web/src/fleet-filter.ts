// Which machines the fleet view shows and in what order: text/label/status filter, sort, and counts per
// status. Pure (no DOM), so the rules are table-tested and the view only applies the result.
import type { MachineView } from '../../proto/delta.ts';
import { MACHINE_STATUSES, type MachineStatus } from '../../proto/status.ts';

export const SORT_KEYS = ['name', 'status', 'cpu', 'memory', 'disk', 'seen'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const SORT_LABELS: Record<SortKey, string> = {
  name: 'Name',
  status: 'Worst status',
  cpu: 'Highest CPU',
  memory: 'Highest memory',
  disk: 'Fullest disk',
  seen: 'Oldest report',
};

export type StatusFilter = MachineStatus | 'all';

export interface FleetFilter {
  /** Free text: every whitespace-separated term must match; `key=value` or `key:value` matches a label. */
  text: string;
  status: StatusFilter;
  sort: SortKey;
}

/** Worst first: what needs attention comes before what is fine. */
const SEVERITY: Record<MachineStatus, number> = { critical: 0, warning: 1, offline: 2, healthy: 3 };

export function isSortKey(value: string): value is SortKey {
  return (SORT_KEYS as readonly string[]).includes(value);
}

export function isStatusFilter(value: string): value is StatusFilter {
  return value === 'all' || (MACHINE_STATUSES as readonly string[]).includes(value);
}

function termMatches(m: MachineView, term: string): boolean {
  const sep = term.search(/[=:]/);
  if (sep > 0) {
    const key = term.slice(0, sep);
    const value = term.slice(sep + 1);
    for (const [k, v] of Object.entries(m.labels)) {
      if (k.toLowerCase() === key && v.toLowerCase().includes(value)) return true;
    }
  }
  if (m.name.toLowerCase().includes(term) || m.host.toLowerCase().includes(term) || m.id.toLowerCase().includes(term)) return true;
  for (const [k, v] of Object.entries(m.labels)) {
    if (k.toLowerCase().includes(term) || v.toLowerCase().includes(term)) return true;
  }
  return false;
}

export function parseTerms(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter((t) => t.length > 0);
}

export function matchesText(m: MachineView, terms: readonly string[]): boolean {
  return terms.every((t) => termMatches(m, t));
}

function metricOf(m: MachineView, key: SortKey): number {
  const v =
    key === 'cpu' ? m.values.cpu_percent : key === 'memory' ? m.values.memory_percent : key === 'disk' ? m.values.disk_percent : undefined;
  return v ?? -1;
}

// One collator for every comparison: localeCompare with options builds a new one per call (slow at 1,000).
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

export function compareMachines(a: MachineView, b: MachineView, key: SortKey): number {
  let c = 0;
  if (key === 'status') c = SEVERITY[a.status] - SEVERITY[b.status];
  else if (key === 'seen') c = a.lastSeen - b.lastSeen;
  else if (key !== 'name') c = metricOf(b, key) - metricOf(a, key);
  if (c !== 0) return c;
  const byName = collator.compare(a.name, b.name);
  return byName !== 0 ? byName : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export type StatusCounts = Record<MachineStatus | 'all', number>;

/** Counts per status among the machines the text filter lets through (so the chips read "what you'd get"). */
export function countByStatus(machines: Iterable<MachineView>, text: string): StatusCounts {
  const terms = parseTerms(text);
  const counts: StatusCounts = { all: 0, healthy: 0, warning: 0, critical: 0, offline: 0 };
  for (const m of machines) {
    if (!matchesText(m, terms)) continue;
    counts.all++;
    counts[m.status]++;
  }
  return counts;
}

/** The ids to show, in display order. */
export function selectMachines(machines: Iterable<MachineView>, filter: FleetFilter): string[] {
  const terms = parseTerms(filter.text);
  const shown: MachineView[] = [];
  for (const m of machines) {
    if (filter.status !== 'all' && m.status !== filter.status) continue;
    if (!matchesText(m, terms)) continue;
    shown.push(m);
  }
  shown.sort((a, b) => compareMachines(a, b, filter.sort));
  return shown.map((m) => m.id);
}
