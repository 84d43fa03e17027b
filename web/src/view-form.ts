// The public-view form of the hub dashboard as plain data, and its conversion to and from the view
// definition the hub validates (proto/public-view.ts). Pure: the page (views-page.ts) only renders it.
import { LIVE_METRICS, type LiveMetric } from '../../proto/delta.ts';
import { CARD_METRICS } from '../../proto/public-view.ts';

export interface ViewForm {
  slug: string;
  title: string;
  /** "all", or machines listed by id and/or matching labels. */
  selection: 'all' | 'some';
  /** Comma- or space-separated machine ids. */
  ids: string;
  /** `key=value, key=value`. */
  labels: string;
  showId: boolean;
  showHostname: boolean;
  showLabels: boolean;
  metrics: LiveMetric[];
  percentDigits: number;
  access: 'public' | 'link';
}

export interface ViewDefinitionJson {
  slug: string;
  title: string;
  machines: 'all' | { ids?: string[]; labels?: Record<string, string> };
  show: { id: boolean; hostname: boolean; labels: boolean; metrics: string[] };
  precision?: { percent?: number; load?: number; rate?: number };
  access: 'public' | 'link';
}

export function emptyViewForm(): ViewForm {
  return { slug: '', title: '', selection: 'all', ids: '', labels: '', showId: false, showHostname: false, showLabels: false, metrics: [...CARD_METRICS], percentDigits: 0, access: 'public' };
}

/** `env=prod, role=web` → {env: "prod", role: "web"}; throws naming the bad part. */
export function parseLabelList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`labels: "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The definition to PUT (the hub checks it again and names any bad field). */
export function formToView(form: ViewForm): ViewDefinitionJson {
  let machines: ViewDefinitionJson['machines'] = 'all';
  if (form.selection === 'some') {
    const ids = form.ids.split(/[\s,]+/).filter(Boolean);
    const labels = parseLabelList(form.labels);
    machines = { ...(ids.length ? { ids } : {}), ...(Object.keys(labels).length ? { labels } : {}) };
    if (!ids.length && !Object.keys(labels).length) throw new Error('machines: give ids and/or labels, or choose every machine');
  }
  return {
    slug: form.slug.trim(),
    title: form.title.trim() || form.slug.trim(),
    machines,
    show: { id: form.showId, hostname: form.showHostname, labels: form.showLabels, metrics: LIVE_METRICS.filter((m) => form.metrics.includes(m)) },
    precision: { percent: form.percentDigits },
    access: form.access,
  };
}

export function viewToForm(view: ViewDefinitionJson): ViewForm {
  const m = view.machines;
  return {
    slug: view.slug,
    title: view.title,
    selection: m === 'all' ? 'all' : 'some',
    ids: m === 'all' ? '' : (m.ids ?? []).join(', '),
    labels: m === 'all' ? '' : Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', '),
    showId: view.show.id,
    showHostname: view.show.hostname,
    showLabels: view.show.labels,
    metrics: LIVE_METRICS.filter((x) => view.show.metrics.includes(x)),
    percentDigits: view.precision?.percent ?? 0,
    access: view.access,
  };
}

/** One line describing what a view publishes. */
export function describeView(view: ViewDefinitionJson): string {
  const m = view.machines;
  const which = m === 'all' ? 'every machine' : [m.ids?.length ? `${m.ids.length} listed` : '', m.labels ? Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(' and ') : ''].filter(Boolean).join(' or ');
  const shown = [view.show.id ? 'ids' : '', view.show.hostname ? 'hostnames' : '', view.show.labels ? 'labels' : ''].filter(Boolean);
  return `${which} · ${view.show.metrics.length} metrics · ${shown.length ? `shows ${shown.join(', ')}` : 'names only'} · ${view.access === 'link' ? 'secret link' : 'public'}`;
}
