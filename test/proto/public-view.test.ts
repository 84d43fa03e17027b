import { describe, expect, it } from 'vitest';
import { CARD_METRICS, parsePublicView, parsePublicViewsDocument, roundForView, viewSelects, ViewDefinitionError, DEFAULT_VIEW_PRECISION } from '../../proto/public-view.ts';

describe('parsePublicView', () => {
  it('fills the private defaults: no id, hostname or labels; the card metrics; whole percentages', () => {
    const view = parsePublicView({ slug: 'status', machines: 'all' });
    expect(view).toEqual({
      slug: 'status',
      title: 'status',
      machines: { all: true },
      show: { id: false, hostname: false, labels: false, metrics: [...CARD_METRICS] },
      precision: DEFAULT_VIEW_PRECISION,
      access: 'public',
    });
  });

  it.each([
    [{ slug: 'Bad Slug', machines: 'all' }, 'view.slug'],
    [{ slug: 'a' }, 'view.machines'],
    [{ slug: 'a', machines: {} }, 'view.machines'],
    [{ slug: 'a', machines: { ids: ['ok', 'not ok'] } }, 'view.machines.ids[1]'],
    [{ slug: 'a', machines: 'all', show: { metrics: ['cpu_percent', 'secret'] } }, 'view.show.metrics[1]'],
    [{ slug: 'a', machines: 'all', show: { hostname: 'yes' } }, 'view.show.hostname'],
    [{ slug: 'a', machines: 'all', precision: { percent: 5 } }, 'view.precision.percent'],
    [{ slug: 'a', machines: 'all', access: 'secret' }, 'view.access'],
    [{ slug: 'a', machines: 'all', colour: 'red' }, 'view.colour'],
  ])('refuses %j naming %s', (raw, field) => {
    expect(() => parsePublicView(raw)).toThrow(ViewDefinitionError);
    expect(() => parsePublicView(raw)).toThrow(new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}:`));
  });

  it('refuses a document with a repeated slug, naming the entry', () => {
    expect(() => parsePublicViewsDocument({ views: [{ slug: 'a', machines: 'all' }, { slug: 'a', machines: 'all' }] })).toThrow(/^views\[1\]\.slug/);
  });
});

describe('viewSelects', () => {
  const machine = { id: 'web-01', labels: { env: 'prod', role: 'web' } };
  it.each([
    [{ all: true as const }, true],
    [{ ids: ['web-01'] }, true],
    [{ ids: ['db-01'] }, false],
    [{ labels: { env: 'prod' } }, true],
    [{ labels: { env: 'prod', role: 'db' } }, false],
    [{ ids: ['db-01'], labels: { role: 'web' } }, true],
  ])('%j → %s', (selector, expected) => {
    expect(viewSelects(selector, machine)).toBe(expected);
  });
});

describe('roundForView', () => {
  it('keeps decimal places for percentages and load, significant digits for rates', () => {
    expect(roundForView('cpu_percent', 53.68, DEFAULT_VIEW_PRECISION)).toBe(54);
    expect(roundForView('load_avg_1m', 1.26, DEFAULT_VIEW_PRECISION)).toBe(1.3);
    expect(roundForView('network_recv_bytes_sec', 123_456, DEFAULT_VIEW_PRECISION)).toBe(120_000);
    expect(roundForView('network_recv_bytes_sec', 7, DEFAULT_VIEW_PRECISION)).toBe(7);
    expect(roundForView('uptime_seconds', 12.6, DEFAULT_VIEW_PRECISION)).toBe(13);
  });
});
