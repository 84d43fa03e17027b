import { describe, expect, it } from 'vitest';
import type { MachineView } from '../../proto/delta.ts';
import { countByStatus, selectMachines, type FleetFilter } from '../../web/src/fleet-filter.ts';

function m(id: string, over: Partial<MachineView> = {}): MachineView {
  return { id, name: id, host: `${id}.lan`, status: 'healthy', labels: {}, intervalMs: 1000, lastSeen: 1000, values: {}, ...over };
}

const FLEET: MachineView[] = [
  m('web-10', { status: 'warning', labels: { env: 'prod', role: 'web' }, values: { cpu_percent: 85, memory_percent: 40, disk_percent: 10 }, lastSeen: 500 }),
  m('web-2', { labels: { env: 'prod', role: 'web' }, values: { cpu_percent: 20, memory_percent: 90, disk_percent: 50 }, lastSeen: 900 }),
  m('db-1', { name: 'Database', status: 'critical', labels: { env: 'prod', role: 'db' }, values: { cpu_percent: 97, disk_percent: 95 } }),
  m('ci-1', { status: 'offline', labels: { env: 'staging' }, values: { cpu_percent: 5 }, lastSeen: 100 }),
  m('lab', { host: 'gpu-box.lab', values: {} }),
];

const f = (over: Partial<FleetFilter>): FleetFilter => ({ text: '', status: 'all', sort: 'name', ...over });

describe('selectMachines', () => {
  it.each<[string, Partial<FleetFilter>, string[]]>([
    ['name order is natural (web-2 before web-10), case-insensitive', {}, ['ci-1', 'db-1', 'lab', 'web-2', 'web-10']],
    ['worst status first, then name', { sort: 'status' }, ['db-1', 'web-10', 'ci-1', 'lab', 'web-2']],
    ['highest CPU first; machines without a value last', { sort: 'cpu' }, ['db-1', 'web-10', 'web-2', 'ci-1', 'lab']],
    ['highest memory first', { sort: 'memory' }, ['web-2', 'web-10', 'ci-1', 'db-1', 'lab']],
    ['fullest disk first', { sort: 'disk' }, ['db-1', 'web-2', 'web-10', 'ci-1', 'lab']],
    ['oldest report first', { sort: 'seen' }, ['ci-1', 'web-10', 'web-2', 'db-1', 'lab']],
    ['status filter', { status: 'critical' }, ['db-1']],
    ['text matches the display name', { text: 'datab' }, ['db-1']],
    ['text matches the host', { text: 'GPU' }, ['lab']],
    ['key=value matches a label', { text: 'role=web' }, ['web-2', 'web-10']],
    ['key:value works too', { text: 'env:staging' }, ['ci-1']],
    ['every term must match', { text: 'env=prod web-1' }, ['web-10']],
    ['a bare label value matches', { text: 'staging' }, ['ci-1']],
    ['nothing matches', { text: 'nope' }, []],
    ['filter and sort combine', { text: 'env=prod', sort: 'cpu', status: 'all' }, ['db-1', 'web-10', 'web-2']],
  ])('%s', (_what, filter, expected) => {
    expect(selectMachines(FLEET, f(filter))).toEqual(expected);
  });
});

describe('countByStatus', () => {
  it('counts per status among what the text filter lets through', () => {
    expect(countByStatus(FLEET, '')).toEqual({ all: 5, healthy: 2, warning: 1, critical: 1, offline: 1 });
    expect(countByStatus(FLEET, 'env=prod')).toEqual({ all: 3, healthy: 1, warning: 1, critical: 1, offline: 0 });
  });
});
