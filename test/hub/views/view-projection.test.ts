// The projection of a machine through a public view: what a view hides never appears in what it
// publishes (checked on the JSON text), opaque keys are stable and per view, names that would reveal a
// hidden id or hostname are replaced, and only the chosen metrics leave, rounded.
import { describe, expect, it } from 'vitest';
import type { MachineView } from '../../../proto/delta.ts';
import { parsePublicView } from '../../../proto/public-view.ts';
import { createViewProjector, labelsWithin, opaqueMachineKey, PUBLISHED_LABEL_BYTES } from '../../../hub/views/view-projection.ts';

const SALT = 'test-salt-0123456789abcdef';

function machine(over: Partial<MachineView> = {}): MachineView {
  return {
    id: 'db-internal-07',
    name: 'db-internal-07',
    host: 'db07.corp.example',
    status: 'warning',
    labels: { env: 'prod', rack: 'secret-rack-9' },
    intervalMs: 5000,
    lastSeen: 1_700_000_000_000,
    values: { cpu_percent: 41.37, memory_percent: 62.55, load_avg_1m: 1.234, network_recv_bytes_sec: 123_456, temperature_c: 55.5, process_count: 321 },
    ...over,
  };
}

describe('view projection', () => {
  const cases: Array<{ name: string; def: unknown; input: Partial<MachineView>; expected: Partial<MachineView> | null; absent: string[] }> = [
    {
      name: 'defaults hide id, hostname and labels; a name equal to the id becomes "Machine <key>"',
      def: { slug: 'status', machines: 'all' },
      input: {},
      expected: { host: '', labels: {}, status: 'warning', intervalMs: 5000, lastSeen: 1_700_000_000_000 },
      absent: ['db-internal-07', 'db07.corp.example', 'secret-rack-9', 'prod', 'rack'],
    },
    {
      name: 'a name equal to the hidden hostname is replaced too',
      def: { slug: 'status', machines: 'all', show: { id: true } },
      input: { name: 'db07.corp.example' },
      expected: { id: 'db-internal-07', host: '', labels: {} },
      absent: ['db07.corp.example', 'secret-rack-9'],
    },
    {
      name: 'a display name the owner gave is published as written',
      def: { slug: 'status', machines: 'all' },
      input: { name: 'Database 7' },
      expected: { name: 'Database 7', host: '' },
      absent: ['db-internal-07', 'db07.corp.example', 'secret-rack-9'],
    },
    {
      name: 'everything shown when asked',
      def: { slug: 'ops', machines: 'all', show: { id: true, hostname: true, labels: true } },
      input: {},
      expected: { id: 'db-internal-07', name: 'db-internal-07', host: 'db07.corp.example', labels: { env: 'prod', rack: 'secret-rack-9' } },
      absent: [],
    },
    {
      name: 'a label selector that does not match: not projected at all',
      def: { slug: 'web', machines: { labels: { env: 'staging' } } },
      input: {},
      expected: null,
      absent: [],
    },
    {
      name: 'an id selector matches by the real id',
      def: { slug: 'one', machines: { ids: ['db-internal-07'] } },
      input: {},
      expected: { host: '', labels: {} },
      absent: ['db-internal-07', 'db07.corp.example'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const view = parsePublicView(c.def);
      const out = createViewProjector(view, SALT).project(machine(c.input));
      if (c.expected === null) {
        expect(out).toBeNull();
        return;
      }
      expect(out).toMatchObject(c.expected);
      const text = JSON.stringify(out);
      for (const secret of c.absent) expect(text, `"${secret}" must not be published`).not.toContain(secret);
    });
  }

  it('opaque keys: m + 16 hex digits, stable, different per view and per salt', () => {
    const a = opaqueMachineKey(SALT, 'status', 'db-internal-07');
    expect(a).toMatch(/^m[0-9a-f]{16}$/);
    expect(opaqueMachineKey(SALT, 'status', 'db-internal-07')).toBe(a);
    expect(opaqueMachineKey(SALT, 'other', 'db-internal-07')).not.toBe(a);
    expect(opaqueMachineKey('another-salt-000000', 'status', 'db-internal-07')).not.toBe(a);
    const out = createViewProjector(parsePublicView({ slug: 'status', machines: 'all' }), SALT).project(machine())!;
    expect(out.id).toBe(a);
    expect(out.name).toBe(`Machine ${a.slice(0, 6)}`);
  });

  it('only the chosen metrics leave, rounded to the view precision', () => {
    const def = { slug: 'cpu', machines: 'all', show: { metrics: ['cpu_percent', 'load_avg_1m', 'network_recv_bytes_sec'] }, precision: { percent: 1, load: 0, rate: 2 } };
    const out = createViewProjector(parsePublicView(def), SALT).project(machine())!;
    expect(out.values).toEqual({ cpu_percent: 41.4, load_avg_1m: 1, network_recv_bytes_sec: 120_000 });
    const defaults = createViewProjector(parsePublicView({ slug: 'cards', machines: 'all' }), SALT).project(machine())!;
    expect(defaults.values).toEqual({ cpu_percent: 41, memory_percent: 63, load_avg_1m: 1.2, network_recv_bytes_sec: 120_000 });
    expect(JSON.stringify(defaults)).not.toContain('321'); // process_count is not on the cards
  });

  it('never hands out the input objects (labels are copied)', () => {
    const input = machine();
    const out = createViewProjector(parsePublicView({ slug: 'x', machines: 'all', show: { labels: true } }), SALT).project(input)!;
    expect(out.labels).toEqual(input.labels);
    expect(out.labels).not.toBe(input.labels);
  });

  it('publishes at most PUBLISHED_LABEL_BYTES of labels per machine, in key order, whole labels only', () => {
    // 32 labels at their limit: 512 characters of 2-byte text each (~32 KiB a machine before the cap).
    const big: Record<string, string> = {};
    for (let i = 0; i < 32; i++) big[`k${String(i).padStart(2, '0')}`] = 'é'.repeat(512);
    const out = createViewProjector(parsePublicView({ slug: 'x', machines: 'all', show: { labels: true } }), SALT).project(machine({ labels: { ...big, env: 'prod', zone: 'b' } }))!;
    const bytes = Object.entries(out.labels).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(bytes).toBeLessThanOrEqual(PUBLISHED_LABEL_BYTES);
    // Each big label alone is over the budget; the small ones fit, whole.
    expect(out.labels).toEqual({ env: 'prod', zone: 'b' });
    expect(labelsWithin({ b: 'x'.repeat(300), a: 'y'.repeat(300), c: 'z' })).toEqual({ a: 'y'.repeat(300), c: 'z' });
    expect(labelsWithin({ env: 'prod', rack: 'r1' })).toEqual({ env: 'prod', rack: 'r1' });
  });
});
