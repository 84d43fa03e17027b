// The public-view form ↔ view definition conversion (pure): defaults, the label list, machines by id
// and label (and the refusal of neither), what is trimmed, metric order, the round trip, and the
// one-line description.
import { describe, expect, it } from 'vitest';
import { LIVE_METRICS } from '../../proto/delta.ts';
import { CARD_METRICS } from '../../proto/public-view.ts';
import { describeView, emptyViewForm, formToView, parseLabelList, viewToForm, type ViewDefinitionJson, type ViewForm } from '../../web/src/view-form.ts';

const form = (over: Partial<ViewForm> = {}): ViewForm => ({ ...emptyViewForm(), slug: 'status', ...over });

describe('emptyViewForm', () => {
  it('every machine, names only, the card metrics, public', () => {
    expect(emptyViewForm()).toEqual({
      slug: '',
      title: '',
      selection: 'all',
      ids: '',
      labels: '',
      showId: false,
      showHostname: false,
      showLabels: false,
      metrics: [...CARD_METRICS],
      percentDigits: 0,
      access: 'public',
    });
    // A fresh copy each time: changing one form does not change the next.
    emptyViewForm().metrics.pop();
    expect(emptyViewForm().metrics).toEqual([...CARD_METRICS]);
  });
});

describe('parseLabelList', () => {
  it.each<[string, Record<string, string>]>([
    ['', {}],
    ['  ,  ', {}],
    ['env=prod', { env: 'prod' }],
    [' env = prod , role=web ', { env: 'prod', role: 'web' }],
    ['empty=', { empty: '' }],
    ['url=a=b', { url: 'a=b' }],
    ['env=prod, env=dev', { env: 'dev' }],
  ])('%j', (text, expected) => {
    expect(parseLabelList(text)).toEqual(expected);
  });

  it.each([
    ['tier', 'labels: "tier" is not key=value'],
    ['env=prod, tier', 'labels: "tier" is not key=value'],
    ['=prod', 'labels: "=prod" is not key=value'],
  ])('refuses %j', (text, message) => {
    expect(() => parseLabelList(text)).toThrow(message);
  });
});

describe('formToView', () => {
  it('every machine: trims slug and title, the title defaults to the slug, metrics in wire order', () => {
    const view = formToView(form({ slug: ' status ', title: '  ', metrics: ['swap_percent', 'cpu_percent'], ids: 'ignored', labels: 'not parsed' }));
    expect(view).toEqual({
      slug: 'status',
      title: 'status',
      machines: 'all',
      show: { id: false, hostname: false, labels: false, metrics: ['cpu_percent', 'swap_percent'] },
      precision: { percent: 0 },
      access: 'public',
    });
  });

  it.each<[string, Partial<ViewForm>, ViewDefinitionJson['machines']]>([
    ['ids by comma or space', { ids: 'web-1, web-2  web-3,,' }, { ids: ['web-1', 'web-2', 'web-3'] }],
    ['labels only', { labels: 'env=prod' }, { labels: { env: 'prod' } }],
    ['ids and labels', { ids: 'db-1', labels: 'env=prod, role=db' }, { ids: ['db-1'], labels: { env: 'prod', role: 'db' } }],
  ])('machines by id or label: %s', (_name, over, machines) => {
    expect(formToView(form({ selection: 'some', ...over })).machines).toEqual(machines);
  });

  it('refuses "some" machines with neither ids nor labels, and a bad label', () => {
    expect(() => formToView(form({ selection: 'some', ids: ' , ', labels: ' ' }))).toThrow('machines: give ids and/or labels, or choose every machine');
    expect(() => formToView(form({ selection: 'some', ids: 'web-1', labels: 'tier' }))).toThrow('labels: "tier" is not key=value');
  });

  it('carries what to show, the precision and the access', () => {
    const view = formToView(form({ title: 'Ops', showId: true, showLabels: true, percentDigits: 2, access: 'link' }));
    expect(view.show).toMatchObject({ id: true, hostname: false, labels: true });
    expect(view.precision).toEqual({ percent: 2 });
    expect(view.access).toBe('link');
    expect(view.title).toBe('Ops');
  });
});

describe('viewToForm', () => {
  it.each<[string, ViewDefinitionJson]>([
    ['every machine', { slug: 'status', title: 'Status', machines: 'all', show: { id: false, hostname: true, labels: false, metrics: ['cpu_percent', 'uptime_seconds'] }, precision: { percent: 1 }, access: 'public' }],
    ['by id and label', { slug: 'ops', title: 'Ops', machines: { ids: ['web-1', 'web-2'], labels: { env: 'prod', role: 'web' } }, show: { id: true, hostname: false, labels: true, metrics: [...LIVE_METRICS] }, precision: { percent: 2 }, access: 'link' }],
    ['by label only', { slug: 'db', title: 'DB', machines: { labels: { role: 'db' } }, show: { id: false, hostname: false, labels: false, metrics: ['memory_percent'] }, precision: { percent: 0 }, access: 'public' }],
  ])('round trip: %s', (_name, view) => {
    expect(formToView(viewToForm(view))).toEqual(view);
  });

  it('fills the text fields and defaults a missing precision to whole numbers', () => {
    const f = viewToForm({ slug: 'ops', title: 'Ops', machines: { ids: ['a', 'b'], labels: { env: 'prod' } }, show: { id: false, hostname: false, labels: false, metrics: ['temperature_c', 'cpu_percent', 'not-a-metric'] }, access: 'link' });
    expect(f).toMatchObject({ selection: 'some', ids: 'a, b', labels: 'env=prod', percentDigits: 0, access: 'link' });
    // Known metrics only, in wire order.
    expect(f.metrics).toEqual(['cpu_percent', 'temperature_c']);
  });
});

describe('describeView', () => {
  const base: ViewDefinitionJson = { slug: 's', title: 'S', machines: 'all', show: { id: false, hostname: false, labels: false, metrics: ['cpu_percent', 'memory_percent'] }, access: 'public' };
  it.each<[string, Partial<ViewDefinitionJson>, string]>([
    ['every machine, names only', {}, 'every machine · 2 metrics · names only · public'],
    ['listed ids', { machines: { ids: ['a', 'b', 'c'] } }, '3 listed · 2 metrics · names only · public'],
    ['labels', { machines: { labels: { env: 'prod', role: 'db' } } }, 'env=prod and role=db · 2 metrics · names only · public'],
    ['ids or labels', { machines: { ids: ['a'], labels: { env: 'prod' } } }, '1 listed or env=prod · 2 metrics · names only · public'],
    ['what is shown', { show: { id: true, hostname: true, labels: true, metrics: [] } }, 'every machine · 0 metrics · shows ids, hostnames, labels · public'],
    ['a secret link', { access: 'link' }, 'every machine · 2 metrics · names only · secret link'],
  ])('%s', (_name, over, expected) => {
    expect(describeView({ ...base, ...over })).toBe(expected);
  });
});
