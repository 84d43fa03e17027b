// Public views: what the owner chose to publish. A view selects machines (all, by id, by label), says
// what each shows (display name always; id, hostname, labels only when asked; a list of live metrics)
// and how precise the numbers are. One module, imported by the hub (which filters before anything
// leaves it), the relay (which serves each view from its own object) and the dashboard (which renders
// a view and edits its definition). Pure: parsing and decisions only, no I/O, no clock.
import { isMachineId, MACHINE_ID_RULE } from './machine-id.ts';
import { LIVE_METRICS, type LiveMetric } from './delta.ts';

export const VIEW_SLUG_PATTERN = /^[a-z0-9-]{1,48}$/;
export const MAX_VIEW_TITLE_LENGTH = 120;
export const MAX_VIEWS = 64;
export const MAX_VIEW_IDS = 10_000;
export const MAX_VIEW_LABEL_SELECTORS = 16;
/** A view with this slug is also served at the Worker's `/`, `/ws` and `/api/machines`. */
export const DEFAULT_VIEW_SLUG = 'default';

/** The card set: what a view shows when `show.metrics` is not given. */
export const CARD_METRICS = [
  'cpu_percent',
  'memory_percent',
  'disk_percent',
  'load_avg_1m',
  'network_recv_bytes_sec',
  'network_sent_bytes_sec',
] as const satisfies readonly LiveMetric[];

export type ViewAccess = 'public' | 'link';

/** Which machines a view shows: every machine, or those listed by id and/or matching every label. */
export type ViewSelector = { all: true } | { all?: false; ids?: readonly string[]; labels?: Readonly<Record<string, string>> };

export interface ViewShow {
  readonly id: boolean;
  readonly hostname: boolean;
  readonly labels: boolean;
  readonly metrics: readonly LiveMetric[];
}

/** Digits kept: `percent` and `load` are decimal places, `rate` (bytes/s) is significant digits. */
export interface ViewPrecision {
  readonly percent: number;
  readonly load: number;
  readonly rate: number;
}

export interface PublicViewDefinition {
  readonly slug: string;
  readonly title: string;
  readonly machines: ViewSelector;
  readonly show: ViewShow;
  readonly precision: ViewPrecision;
  readonly access: ViewAccess;
}

export const DEFAULT_VIEW_PRECISION: ViewPrecision = Object.freeze({ percent: 0, load: 1, rate: 2 });

export class ViewDefinitionError extends Error {
  override name = 'ViewDefinitionError';
}

const VIEW_KEYS = new Set(['slug', 'title', 'machines', 'show', 'precision', 'access']);
const SHOW_KEYS = new Set(['id', 'hostname', 'labels', 'metrics']);
const PRECISION_KEYS = new Set(['percent', 'load', 'rate']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, what: string): never {
  throw new ViewDefinitionError(`${where}: ${what}`);
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) fail(`${where}.${key}`, `unknown field (allowed: ${[...allowed].join(', ')})`);
  }
}

function flag(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(where, 'must be true or false');
  return value;
}

function digits(value: unknown, fallback: number, min: number, max: number, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(where, `must be an integer in ${min}..${max}`);
  return value;
}

function parseSelector(raw: unknown, where: string): ViewSelector {
  if (raw === 'all') return { all: true };
  if (!isRecord(raw)) fail(where, 'must be "all" or {ids: [...], labels: {key: value}}');
  onlyKeys(raw, new Set(['all', 'ids', 'labels']), where);
  if (raw.all === true) {
    if (raw.ids !== undefined || raw.labels !== undefined) fail(where, '"all" cannot be combined with ids or labels');
    return { all: true };
  }
  if (raw.all !== undefined && raw.all !== false) fail(`${where}.all`, 'must be true or false');
  let ids: string[] | undefined;
  if (raw.ids !== undefined) {
    if (!Array.isArray(raw.ids) || raw.ids.length > MAX_VIEW_IDS) fail(`${where}.ids`, `must be a list of at most ${MAX_VIEW_IDS} machine ids`);
    ids = raw.ids.map((id, i) => {
      if (!isMachineId(id)) fail(`${where}.ids[${i}]`, MACHINE_ID_RULE);
      return id;
    });
  }
  let labels: Record<string, string> | undefined;
  if (raw.labels !== undefined) {
    if (!isRecord(raw.labels)) fail(`${where}.labels`, 'must be an object {key: value}');
    const entries = Object.entries(raw.labels);
    if (entries.length > MAX_VIEW_LABEL_SELECTORS) fail(`${where}.labels`, `at most ${MAX_VIEW_LABEL_SELECTORS} labels`);
    labels = {};
    for (const [key, value] of entries) {
      if (key.length === 0 || key.length > 256) fail(`${where}.labels`, 'label keys must be 1..256 characters');
      if (typeof value !== 'string' || value.length > 256) fail(`${where}.labels.${key}`, 'must be a string of at most 256 characters');
      labels[key] = value;
    }
  }
  if (ids === undefined && labels === undefined) fail(where, 'give "all", or ids and/or labels (nothing else selects a machine)');
  return { ...(ids ? { ids } : {}), ...(labels ? { labels } : {}) };
}

function parseShow(raw: unknown, where: string): ViewShow {
  if (raw === undefined) return { id: false, hostname: false, labels: false, metrics: [...CARD_METRICS] };
  if (!isRecord(raw)) fail(where, 'must be an object {id, hostname, labels, metrics}');
  onlyKeys(raw, SHOW_KEYS, where);
  let metrics: LiveMetric[] = [...CARD_METRICS];
  if (raw.metrics !== undefined) {
    if (!Array.isArray(raw.metrics)) fail(`${where}.metrics`, `must be a list of metric names (${LIVE_METRICS.join(', ')})`);
    metrics = [];
    raw.metrics.forEach((name, i) => {
      if (typeof name !== 'string' || !(LIVE_METRICS as readonly string[]).includes(name)) {
        fail(`${where}.metrics[${i}]`, `unknown metric ${JSON.stringify(name)} (one of ${LIVE_METRICS.join(', ')})`);
      }
      if (!metrics.includes(name as LiveMetric)) metrics.push(name as LiveMetric);
    });
  }
  return {
    id: flag(raw.id, `${where}.id`),
    hostname: flag(raw.hostname, `${where}.hostname`),
    labels: flag(raw.labels, `${where}.labels`),
    metrics,
  };
}

function parsePrecision(raw: unknown, where: string): ViewPrecision {
  if (raw === undefined) return DEFAULT_VIEW_PRECISION;
  if (!isRecord(raw)) fail(where, 'must be an object {percent, load, rate}');
  onlyKeys(raw, PRECISION_KEYS, where);
  return {
    percent: digits(raw.percent, DEFAULT_VIEW_PRECISION.percent, 0, 2, `${where}.percent`),
    load: digits(raw.load, DEFAULT_VIEW_PRECISION.load, 0, 2, `${where}.load`),
    rate: digits(raw.rate, DEFAULT_VIEW_PRECISION.rate, 1, 6, `${where}.rate`),
  };
}

/** Validates one view definition; an error names the field (`views[2].show.metrics[0]: …`). */
export function parsePublicView(raw: unknown, where = 'view'): PublicViewDefinition {
  if (!isRecord(raw)) fail(where, 'must be an object');
  onlyKeys(raw, VIEW_KEYS, where);
  if (typeof raw.slug !== 'string' || !VIEW_SLUG_PATTERN.test(raw.slug)) fail(`${where}.slug`, 'must match [a-z0-9-]{1,48}');
  const title = raw.title === undefined ? raw.slug : raw.title;
  if (typeof title !== 'string' || title.length === 0 || title.length > MAX_VIEW_TITLE_LENGTH) {
    fail(`${where}.title`, `must be a string of 1..${MAX_VIEW_TITLE_LENGTH} characters`);
  }
  if (raw.machines === undefined) fail(`${where}.machines`, 'is required: "all", or {ids: [...]} and/or {labels: {...}}');
  const access = raw.access === undefined ? 'public' : raw.access;
  if (access !== 'public' && access !== 'link') fail(`${where}.access`, 'must be "public" or "link"');
  return Object.freeze({
    slug: raw.slug,
    title,
    machines: parseSelector(raw.machines, `${where}.machines`),
    show: parseShow(raw.show, `${where}.show`),
    precision: parsePrecision(raw.precision, `${where}.precision`),
    access,
  });
}

/** Validates a views document (`{views: [...]}`, the PUBLIC_VIEWS_FILE format): slugs are unique. */
export function parsePublicViewsDocument(raw: unknown): PublicViewDefinition[] {
  if (!isRecord(raw)) fail('document', 'the top level must be an object with a "views" list');
  onlyKeys(raw, new Set(['views']), 'document');
  if (!Array.isArray(raw.views)) fail('views', 'must be a list');
  if (raw.views.length > MAX_VIEWS) fail('views', `at most ${MAX_VIEWS} views`);
  const seen = new Set<string>();
  return raw.views.map((v, i) => {
    const view = parsePublicView(v, `views[${i}]`);
    if (seen.has(view.slug)) fail(`views[${i}].slug`, `"${view.slug}" is used twice`);
    seen.add(view.slug);
    return view;
  });
}

/** Whether a view shows a machine: `all`, or its id is listed, or every given label matches. */
export function viewSelects(selector: ViewSelector, machine: { id: string; labels: Readonly<Record<string, string>> }): boolean {
  if (selector.all === true) return true;
  if (selector.ids?.includes(machine.id)) return true;
  const labels = selector.labels;
  if (labels === undefined) return false;
  for (const [key, value] of Object.entries(labels)) {
    if (machine.labels[key] !== value) return false;
  }
  return true;
}

const PERCENT_METRICS: ReadonlySet<LiveMetric> = new Set(['cpu_percent', 'memory_percent', 'disk_percent', 'swap_percent']);
const LOAD_METRICS: ReadonlySet<LiveMetric> = new Set(['load_avg_1m', 'load_avg_5m', 'load_avg_15m', 'temperature_c']);
const RATE_METRICS: ReadonlySet<LiveMetric> = new Set([
  'network_recv_bytes_sec',
  'network_sent_bytes_sec',
  'disk_read_bytes_sec',
  'disk_write_bytes_sec',
]);

/** A value rounded to the view's precision: coarser values change less often, so fewer bytes go out. */
export function roundForView(metric: LiveMetric, value: number, precision: ViewPrecision): number {
  if (PERCENT_METRICS.has(metric)) return roundDecimals(value, precision.percent);
  if (LOAD_METRICS.has(metric)) return roundDecimals(value, precision.load);
  if (RATE_METRICS.has(metric)) return roundSignificant(value, precision.rate);
  return Math.round(value); // counts and seconds
}

function roundDecimals(value: number, places: number): number {
  const f = 10 ** places;
  return Math.round(value * f) / f;
}

function roundSignificant(value: number, significant: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const places = significant - 1 - magnitude;
  if (places >= 0) return Math.round(value); // rates are whole bytes: never add decimals
  const f = 10 ** -places;
  return Math.round(value / f) * f;
}
