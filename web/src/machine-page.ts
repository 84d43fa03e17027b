// The machine view: header with status and freshness, headline tiles, live charts (CPU total and per
// core, memory, load, network, disk I/O) over a chosen range, and — on the hub — the filesystem,
// temperature, network and disk tables from the latest full report. Live samples come from the shared
// FleetStore; history from the hub's API (tiers chosen there); per-core and tables from polling the
// machine's latest report. On the edge the same page runs read-only on live data alone.
// Charts: the x axis spans the chosen range even when data fills only part of it; missing data breaks
// the lines (gaps over twice the step); dragging zooms every chart to the span, "Reset zoom" undoes it;
// the range is in the URL (`#/machine/<id>?range=24h`). Per-core CPU is live only: history stores one
// row of headline metrics per report, not per-core values, so no tier has them.
import type { MachineView } from '../../proto/delta.ts';
import type { MetricName } from '../../proto/metrics.ts';
import { containerLevel, diskHealthLevel, gpuLevel, serviceLevel, type SourceLevel } from '../../proto/source-health.ts';
import type { MachineStatus } from '../../proto/status.ts';
import { clear, el, setAttr, setText } from './dom.ts';
import type { FleetStore } from './fleet-store.ts';
import {
  formatAgo,
  formatBytes,
  formatBytesPerSec,
  formatCelsius,
  formatCount,
  formatDuration,
  formatInterval,
  formatLoad,
  formatPercent,
  MISSING,
} from './format.ts';
import { freshness } from './freshness.ts';
import type { AlertsStore } from './alerts-store.ts';
import { createForgetControl } from './forget-machine.ts';
import { createIntervalControl } from './interval-control.ts';
import { createMachineAlerts } from './machine-alerts.ts';
import { fetchHistory, fetchMachineDetail, fetchRecent, type DashboardMode, type ReportJson } from './hub-api.ts';
import { breakGaps, countPoints, createMetricWindow, gapThresholdS, nominalStepMs } from './metric-window.ts';
import { FLEET_HREF, machineHref, parseRoute } from './route.ts';
import { createSeriesRing, type SeriesRing } from './series-ring.ts';
import { createTimeChart, type TimeChart } from './time-chart.ts';

export const RANGES = [
  { key: 'live', label: 'Live', ms: 5 * 60_000 },
  { key: '15m', label: '15 m', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 3600_000 },
  { key: '6h', label: '6 h', ms: 6 * 3600_000 },
  { key: '24h', label: '24 h', ms: 24 * 3600_000 },
  { key: '7d', label: '7 d', ms: 7 * 24 * 3600_000 },
  { key: '30d', label: '30 d', ms: 30 * 24 * 3600_000 },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];

/** Ranges up to this long keep growing with live samples; longer ones re-query history every minute. */
const LIVE_APPEND_MAX_MS = 3600_000;
const HISTORY_REFRESH_MS = 60_000;
/** The per-core chart shows the newest 5 minutes (its samples come from polling the latest report). */
const PER_CORE_WINDOW_MS = 5 * 60_000;
const CLOCK = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

function isRangeKey(v: string | undefined): v is RangeKey {
  return RANGES.some((r) => r.key === v);
}

interface ChartDef {
  id: string;
  title: string;
  metrics: MetricName[];
  labels: string[];
  format: (v: number) => string;
  yMax?: number;
  yMinTop?: number;
}

const pct = (v: number) => formatPercent(v);
const CHARTS: ChartDef[] = [
  { id: 'cpu', title: 'CPU', metrics: ['cpu_percent'], labels: ['CPU'], format: pct, yMax: 100 },
  { id: 'memory', title: 'Memory and swap', metrics: ['memory_percent', 'swap_percent'], labels: ['Memory', 'Swap'], format: pct, yMax: 100 },
  { id: 'load', title: 'Load average', metrics: ['load_avg_1m', 'load_avg_5m', 'load_avg_15m'], labels: ['1 min', '5 min', '15 min'], format: formatLoad, yMinTop: 1 },
  { id: 'network', title: 'Network', metrics: ['network_recv_bytes_sec', 'network_sent_bytes_sec'], labels: ['In', 'Out'], format: formatBytesPerSec, yMinTop: 1000 },
  { id: 'disk', title: 'Disk I/O', metrics: ['disk_read_bytes_sec', 'disk_write_bytes_sec'], labels: ['Read', 'Write'], format: formatBytesPerSec, yMinTop: 1000 },
];
const CHART_METRICS: MetricName[] = CHARTS.flatMap((c) => c.metrics);
const STATUS_LABEL: Record<MachineStatus, string> = { healthy: 'Healthy', warning: 'Warning', critical: 'Critical', offline: 'Offline' };

export interface MachinePage {
  readonly root: HTMLElement;
  destroy(): void;
}

function liveSample(m: MachineView): Partial<Record<MetricName, number | null>> {
  const out: Partial<Record<MetricName, number | null>> = {};
  for (const metric of CHART_METRICS) {
    const v = (m.values as Partial<Record<string, number>>)[metric];
    if (v !== undefined) out[metric] = v;
  }
  return out;
}

interface DetailTable {
  root: HTMLElement;
  body: HTMLTableSectionElement;
  numericFrom: number;
  /** Columns hidden on phones (still in the DOM for screen readers on wider screens). */
  optional: ReadonlySet<number>;
}

function cellClass(t: Pick<DetailTable, 'numericFrom' | 'optional'>, i: number): string {
  return [i >= t.numericFrom ? 'num' : '', t.optional.has(i) ? 'opt' : ''].filter(Boolean).join(' ');
}

function table(caption: string, headers: string[], numericFrom: number, optional: number[] = []): DetailTable {
  const spec = { numericFrom, optional: new Set(optional) };
  const body = el('tbody');
  const tableEl = el('table', { class: 'data-table' }, [
    el('caption', { text: caption }),
    el('thead', {}, [el('tr', {}, headers.map((h, i) => el('th', { text: h, attrs: { scope: 'col', class: cellClass(spec, i) } })))]),
    body,
  ]);
  return { root: el('div', { class: 'table-scroll' }, [tableEl]), body, ...spec };
}

/** A state word coloured by how bad it is (proto/source-health.ts decides). */
function levelBadge(text: string, level: SourceLevel): HTMLElement {
  return el('span', { class: 'badge level-badge', text, attrs: { 'data-level': level } });
}

function row(t: DetailTable, cells: Array<string | Node>): HTMLTableRowElement {
  return el(
    'tr',
    {},
    cells.map((c, i) => el('td', { class: cellClass(t, i) }, [c])),
  );
}

export function createMachinePage(
  id: string,
  deps: { store: FleetStore; mode: DashboardMode; /** Hub mode: this machine's active alerts. */ alerts?: { store: AlertsStore; nameOf: (id: string) => string } },
): MachinePage {
  const { store, mode } = deps;
  const abort = new AbortController();
  const timers: number[] = [];
  let destroyed = false;
  const route = parseRoute(window.location.pathname, window.location.hash);
  const wanted = route.view === 'machine' ? route.range : undefined;
  let range: RangeKey = mode === 'hub' && isRangeKey(wanted) ? wanted : 'live';
  let rangeMs: number = RANGES.find((r) => r.key === range)!.ms;
  /** The step of the history shown ('raw' for live data): decides where lines break. */
  let historyStep: string | undefined;
  let zoom: [number, number] | undefined;
  let historyGeneration = 0;
  let lastAppendedMs = -Infinity;
  let frame = 0;
  const window_ = createMetricWindow();
  let perCore: SeriesRing | undefined;
  let perCoreChart: TimeChart | undefined;
  let lastReportKey = '';
  let lastLoadStartedMs = 0;

  // ---- header --------------------------------------------------------------------------------
  const back = el('a', { class: 'back', text: '← Fleet', attrs: { href: FLEET_HREF } });
  const title = el('h1', { class: 'machine-name' });
  const badge = el('span', { class: 'badge' });
  const host = el('span', { class: 'machine-host' });
  const seen = el('span', { class: 'machine-seen' });
  const labels = el('ul', { class: 'labels' });
  const freshnessNote = el('p', { class: 'freshness-note', attrs: { role: 'status' } });
  // Hub only: the owner sets how often the collector reports (pushed to it by the hub).
  const intervalControl = mode === 'hub' ? createIntervalControl(id) : undefined;
  const header = el('header', { class: 'machine-header' }, [
    back,
    el('div', { class: 'machine-title' }, [el('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }), title, badge]),
    el('p', { class: 'machine-meta' }, [host, seen]),
    labels,
    freshnessNote,
    intervalControl?.root,
  ]);

  // ---- tiles ---------------------------------------------------------------------------------
  const tileDefs: Array<{ label: string; value: (m: MachineView) => string; wide?: boolean }> = [
    { label: 'CPU', value: (m) => formatPercent(m.values.cpu_percent) },
    { label: 'Memory', value: (m) => formatPercent(m.values.memory_percent) },
    { label: 'Swap', value: (m) => formatPercent(m.values.swap_percent) },
    { label: 'Disk (fullest)', value: (m) => formatPercent(m.values.disk_percent) },
    {
      label: 'Load 1 / 5 / 15 min',
      wide: true,
      value: (m) =>
        [m.values.load_avg_1m, m.values.load_avg_5m, m.values.load_avg_15m]
          .filter((v) => v !== undefined)
          .map(formatLoad)
          .join(' / ') || MISSING,
    },
    { label: 'Net in', value: (m) => formatBytesPerSec(m.values.network_recv_bytes_sec) },
    { label: 'Net out', value: (m) => formatBytesPerSec(m.values.network_sent_bytes_sec) },
    { label: 'Disk read', value: (m) => formatBytesPerSec(m.values.disk_read_bytes_sec) },
    { label: 'Disk write', value: (m) => formatBytesPerSec(m.values.disk_write_bytes_sec) },
    { label: 'Processes', value: (m) => formatCount(m.values.process_count) },
    { label: 'Temperature', value: (m) => formatCelsius(m.values.temperature_c) },
    { label: 'Uptime', value: (m) => formatDuration(m.values.uptime_seconds) },
  ];
  const tileValues: HTMLElement[] = [];
  const tiles = el(
    'dl',
    { class: 'tiles' },
    tileDefs.map((t) => {
      const v = el('dd', { text: MISSING });
      tileValues.push(v);
      return el('div', { class: t.wide ? 'tile tile-wide' : 'tile' }, [el('dt', { text: t.label }), v]);
    }),
  );

  // ---- range picker + charts -------------------------------------------------------------------
  const rangeButtons = new Map<RangeKey, HTMLButtonElement>();
  const rangeBar = el('div', { class: 'ranges', attrs: { role: 'group', 'aria-label': 'Time range' } });
  for (const r of RANGES) {
    if (mode !== 'hub' && r.key !== 'live') continue;
    const b = el('button', { class: 'range', text: r.label, attrs: { type: 'button', 'aria-pressed': String(r.key === range) } });
    b.addEventListener('click', () => selectRange(r.key));
    rangeButtons.set(r.key, b);
    rangeBar.append(b);
  }
  const chartStatus = el('p', { class: 'chart-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const chartsGrid = el('div', { class: 'charts' });
  const chartsSection = el('section', { class: 'panel', attrs: { 'aria-label': 'Charts' } }, [
    el('div', { class: 'panel-head' }, [el('h2', { text: 'Metrics' }), rangeBar]),
    chartStatus,
    chartsGrid,
  ]);
  if (mode !== 'hub') {
    chartsSection.insertBefore(
      el('p', { class: 'hint', text: 'Public view: charts start with the last minute the relay keeps and grow live. History and per-core detail are on the hub dashboard.' }),
      chartStatus,
    );
  }

  // ---- detail tables (hub) ----------------------------------------------------------------------
  const fsTable = table('Filesystems', ['Mount', 'Device', 'Type', 'Size', 'Used', 'Use'], 3, [1, 2, 4]);
  const netTable = table('Network interfaces', ['Interface', 'In', 'Out', 'Total in', 'Total out'], 1, [3, 4]);
  const diskTable = table('Disks', ['Device', 'Read', 'Write'], 1);
  const tempTable = table('Temperatures', ['Sensor', 'Temperature'], 1);
  const containerTable = table('Containers', ['Name', 'Image', 'State', 'Restarts', 'CPU', 'Memory', 'Limit', 'Net in', 'Net out', 'Disk read', 'Disk write'], 3, [1, 6, 9, 10]);
  const processTable = table('Top processes', ['Name', 'PID', 'User', 'State', 'CPU', 'Memory'], 4, [1, 3]);
  const gpuTable = table('GPUs', ['GPU', 'Use', 'Memory', 'Temperature', 'Power'], 1, [4]);
  const diskHealthTable = table('Disk health', ['Device', 'Model', 'Health', 'Temperature', 'Power-on', 'Reallocated', 'Pending', 'Wear'], 3, [1, 6]);
  const serviceTable = table('Services', ['Unit', 'State', 'Restarts', 'Memory'], 2);
  containerTable.root.classList.add('wide');
  diskHealthTable.root.classList.add('wide');
  const detailSection = el('section', { class: 'panel details', attrs: { 'aria-label': 'Details' } }, [
    el('h2', { text: 'Details' }),
    el('div', { class: 'tables' }, [containerTable.root, processTable.root, fsTable.root, netTable.root, diskTable.root, tempTable.root, gpuTable.root, diskHealthTable.root, serviceTable.root]),
  ]);
  detailSection.hidden = true;

  // This machine's active alerts (hub only), between the header and the tiles.
  const machineAlerts = deps.alerts ? createMachineAlerts(id, deps.alerts) : undefined;
  const notFound = el('div', { class: 'empty', attrs: { role: 'status' } });
  notFound.hidden = true;

  // Hub only: forget an offline machine (two clicks), then back to the fleet.
  const forget =
    mode === 'hub'
      ? createForgetControl(id, {
          nameOf: () => store.machines.get(id)?.name || id,
          onForgotten: () => {
            // No more reads of a machine the hub no longer knows (they would answer 404) while the route changes.
            // The fleet page must not ask for it either, before the delta that removes it arrives.
            destroyed = true;
            abort.abort();
            store.forget(id);
            window.location.href = FLEET_HREF;
          },
        })
      : undefined;

  const root = el('article', { class: 'machine', attrs: { 'aria-labelledby': 'machine-title' } }, [header, forget?.root, notFound, machineAlerts?.root, tiles, chartsSection, detailSection]);
  title.id = 'machine-title';

  const charts = CHARTS.map((def) => ({
    def,
    chart: createTimeChart(chartsGrid, { title: def.title, series: def.labels.map((label) => ({ label })), format: def.format, yMax: def.yMax, yMinTop: def.yMinTop, onZoom: setZoom }),
  }));

  /** Every range chart shows the same span; per-core (live, its own window) zooms by itself. */
  function setZoom(next: [number, number] | undefined): void {
    zoom = next;
    for (const { chart } of charts) chart.setZoom(next);
    chartsGrid.dataset.zoomed = String(next !== undefined);
  }

  // ---- rendering -----------------------------------------------------------------------------
  function renderHeader(): void {
    const m = store.machines.get(id);
    if (!m) {
      const known = store.ready;
      notFound.hidden = !known;
      clear(notFound);
      if (known) notFound.append(el('p', { class: 'empty-title', text: `No machine with id “${id}” in this fleet.` }), el('a', { text: 'Back to the fleet', attrs: { href: FLEET_HREF } }));
      setText(title, id);
      document.title = `${id} · sysmonstm`;
      forget?.setOffline(false);
      if (intervalControl) intervalControl.root.hidden = true;
      return;
    }
    notFound.hidden = true;
    if (intervalControl) intervalControl.root.hidden = false;
    const now = store.serverNow();
    setText(title, m.name || m.id);
    document.title = `${m.name || m.id} · sysmonstm`;
    setText(badge, STATUS_LABEL[m.status]);
    setAttr(root, 'data-status', m.status);
    setText(host, m.host === m.name ? m.id : `${m.host} · ${m.id}`);
    setText(seen, `last report ${formatAgo(now - m.lastSeen)} · every ${formatInterval(m.intervalMs)}`);
    const f = freshness(m, store.freshnessNow());
    setAttr(root, 'data-fresh', f);
    forget?.setOffline(f === 'offline');
    setText(
      freshnessNote,
      f === 'offline'
        ? `Offline: no report for ${formatAgo(now - m.lastSeen).replace(' ago', '')}. The values shown are the last ones received.`
        : f === 'stale'
          ? `Stale: the last report is ${formatAgo(now - m.lastSeen)}; waiting for the next one.`
          : '',
    );
    freshnessNote.hidden = f === 'live';
    const key = JSON.stringify(m.labels);
    if (labels.dataset.key !== key) {
      labels.dataset.key = key;
      clear(labels);
      for (const [k, v] of Object.entries(m.labels)) labels.append(el('li', { class: 'label', text: v ? `${k}=${v}` : k }));
    }
    tileDefs.forEach((t, i) => setText(tileValues[i], t.value(m)));
  }

  function renderCharts(): void {
    const now = store.serverNow();
    const intervalMs = store.machines.get(id)?.intervalMs ?? 1000;
    const nominalS = nominalStepMs(range === 'live' ? 'raw' : (historyStep ?? 'raw'), intervalMs) / 1000;
    for (const { def, chart } of charts) {
      const t = window_.table(def.metrics);
      chart.setData(breakGaps(t, gapThresholdS(t[0], nominalS)).data, [now - rangeMs, now]);
    }
    if (perCore && perCoreChart) {
      const t = perCore.columns();
      perCoreChart.setData(breakGaps(t, gapThresholdS(t[0], Math.max(2000, intervalMs) / 1000)).data, [now - PER_CORE_WINDOW_MS, now]);
    }
    if (range !== 'live' && historyStep !== undefined) showHistoryCaption();
  }

  /** "1,440 points · step 1m", and where the data starts when it fills only part of the range. */
  function showHistoryCaption(): void {
    const counts = CHART_METRICS.map((metric) => {
      const t = window_.table([metric]);
      return { n: countPoints(t), first: t[0].length ? t[0][0] * 1000 : undefined };
    });
    const n = Math.max(0, ...counts.map((c) => c.n));
    chartsGrid.dataset.historyPoints = String(n);
    if (n === 0) {
      setText(chartStatus, 'No history stored for this range yet.');
      return;
    }
    const first = Math.min(...counts.map((c) => c.first ?? Infinity));
    const from = store.serverNow() - rangeMs;
    const partial = first - from > 2 * nominalStepMs(historyStep!, store.machines.get(id)?.intervalMs ?? 1000);
    setText(chartStatus, `${n.toLocaleString('en-US')} ${n === 1 ? 'point' : 'points'} per series · step ${historyStep}${partial ? ` · data from ${CLOCK.format(new Date(first))}` : ''}`);
  }

  function schedule(): void {
    if (frame === 0 && !destroyed) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        renderHeader();
        renderCharts();
      });
    }
  }

  function appendLive(m: MachineView): void {
    if (m.lastSeen <= lastAppendedMs) return;
    lastAppendedMs = m.lastSeen;
    if (range !== 'live' && rangeMs > LIVE_APPEND_MAX_MS) return;
    window_.append(m.lastSeen, liveSample(m));
    window_.trimBefore(store.serverNow() - rangeMs);
  }

  // ---- data loading ------------------------------------------------------------------------
  async function loadRange(): Promise<void> {
    const generation = ++historyGeneration;
    lastLoadStartedMs = Date.now();
    const to = store.serverNow();
    const from = to - rangeMs;
    // The public edge has no history, only the relay's short recent ring, which seeds the live charts.
    if (mode !== 'hub' && range !== 'live') return;
    setText(chartStatus, range === 'live' ? '' : `Loading ${RANGES.find((r) => r.key === range)!.label} of history…`);
    try {
      if (range === 'live') {
        const samples = await fetchRecent(id, 600, abort.signal);
        if (generation !== historyGeneration) return;
        const fresh = createMetricWindow();
        for (const s of samples) fresh.append(s.t, s.metrics as Partial<Record<MetricName, number | null>>);
        for (const metric of CHART_METRICS) fresh.set(metric, mergePoints(fresh, window_, metric));
        replaceWindow(fresh, from);
      } else {
        const results = await Promise.all(CHART_METRICS.map((metric) => fetchHistory(id, metric, from, to, abort.signal)));
        if (generation !== historyGeneration) return;
        const fresh = createMetricWindow();
        for (const r of results) fresh.set(r.metric, r.points);
        if (rangeMs <= LIVE_APPEND_MAX_MS) for (const metric of CHART_METRICS) fresh.set(metric, mergePoints(fresh, window_, metric));
        replaceWindow(fresh, from);
        historyStep = results[0]?.step ?? 'raw';
      }
    } catch (err) {
      if (abort.signal.aborted || generation !== historyGeneration) return;
      if (mode !== 'hub') return; // no recent ring at this edge: the charts simply grow live
      setText(chartStatus, `Could not load history: ${(err as Error).message}`);
    }
    schedule();
  }

  /** History/recent points first, then live points newer than the last of them. */
  function mergePoints(base: ReturnType<typeof createMetricWindow>, live: ReturnType<typeof createMetricWindow>, metric: MetricName): Array<[number, number | null]> {
    const [t0, c0] = base.table([metric]);
    const [t1, c1] = live.table([metric]);
    const out: Array<[number, number | null]> = t0.map((t, i) => [t * 1000, c0[i]]);
    const last = out.length > 0 ? out[out.length - 1][0] : -Infinity;
    t1.forEach((t, i) => {
      if (t * 1000 > last && c1[i] !== null) out.push([t * 1000, c1[i]]);
    });
    return out;
  }

  function replaceWindow(fresh: ReturnType<typeof createMetricWindow>, fromMs: number): void {
    window_.clear();
    for (const metric of CHART_METRICS) {
      const [t, c] = fresh.table([metric]);
      window_.set(
        metric,
        t.map((ts, i) => [ts * 1000, c[i]]),
      );
    }
    window_.trimBefore(fromMs);
  }

  function selectRange(key: RangeKey): void {
    if (key === range) return;
    range = key;
    rangeMs = RANGES.find((r) => r.key === key)!.ms;
    historyStep = undefined;
    setZoom(undefined);
    // The range goes into the URL (replacing, not adding, a history entry): a copied link shows it.
    window.history.replaceState(window.history.state, '', machineHref(id, key === 'live' ? undefined : key));
    for (const [k, b] of rangeButtons) setAttr(b, 'aria-pressed', String(k === key));
    if (key === 'live') setText(chartStatus, '');
    window_.clear();
    const m = store.machines.get(id);
    lastAppendedMs = -Infinity;
    if (m && (key === 'live' || rangeMs <= LIVE_APPEND_MAX_MS)) appendLive(m);
    schedule();
    void loadRange();
  }

  // Hub: the latest full report every couple of intervals, for per-core CPU and the tables.
  async function pollDetail(): Promise<void> {
    if (destroyed) return;
    try {
      const detail = await fetchMachineDetail(id, abort.signal);
      renderDetail(detail.report, detail.lastSeen);
    } catch (err) {
      if (abort.signal.aborted) return;
      const message = (err as Error).message;
      if (/ answered 404/.test(message)) return; // unknown machine: the page says so; nothing to poll
      console.warn(`sysmonstm: could not load details of ${id}: ${message}`);
    }
    const interval = store.machines.get(id)?.intervalMs ?? 1000;
    if (!destroyed) timers.push(window.setTimeout(() => void pollDetail(), Math.max(2000, interval)));
  }

  function renderDetail(report: ReportJson, lastSeen: number): void {
    detailSection.hidden = false;
    const cores = report.cpu?.per_core_percent ?? [];
    if (cores.length > 0) {
      if (!perCore || perCore.columns().length - 1 !== cores.length) {
        perCore = createSeriesRing(cores.length, 300);
        perCoreChart?.destroy();
        perCoreChart = createTimeChart(chartsGrid, {
          title: `CPU per core (${cores.length}, live: last 5 min)`,
          series: cores.map((_, i) => ({ label: `#${i}` })),
          format: pct,
          yMax: 100,
          compactLegend: true,
        });
        // keep it right after the total CPU chart
        chartsGrid.insertBefore(perCoreChart.root, charts[0].chart.root.nextSibling);
      }
      perCore.push(lastSeen, cores);
    }
    const key = JSON.stringify([report.filesystems, report.network, report.disks, report.temperatures, report.containers, report.top_processes, report.gpus, report.disk_health, report.services]);
    if (key !== lastReportKey) {
      lastReportKey = key;
      fill(fsTable, (report.filesystems ?? []).map((f) => {
        const used = f.used_percent ?? 0;
        const bar = el('span', { class: 'inline-meter' }, [
          el('span', { class: 'meter-track', attrs: { 'aria-hidden': 'true' } }, [el('span', { class: 'meter-fill', attrs: { 'data-level': used > 90 ? 'crit' : used > 80 ? 'warn' : '' } })]),
          el('span', { text: formatPercent(used) }),
        ]);
        (bar.querySelector('.meter-fill') as HTMLElement).style.transform = `scaleX(${Math.min(100, Math.max(0, used)) / 100})`;
        return row(fsTable, [f.mount ?? '', f.device ?? '', f.fs_type ?? '', formatBytes(f.size_bytes ?? 0), formatBytes(f.used_bytes ?? 0), bar]);
      }));
      fill(netTable, (report.network ?? []).map((n) => row(netTable, [n.name ?? '', formatBytesPerSec(n.recv_bytes_per_sec ?? 0), formatBytesPerSec(n.sent_bytes_per_sec ?? 0), formatBytes(n.recv_bytes_total ?? 0), formatBytes(n.sent_bytes_total ?? 0)])));
      fill(diskTable, (report.disks ?? []).map((d) => row(diskTable, [d.device ?? '', formatBytesPerSec(d.read_bytes_per_sec ?? 0), formatBytesPerSec(d.write_bytes_per_sec ?? 0)])));
      fill(tempTable, (report.temperatures ?? []).map((t) => row(tempTable, [t.sensor ?? '', formatCelsius(t.celsius ?? 0)])));
      fill(containerTable, (report.containers ?? []).map((c) => {
        const state = c.health ? `${c.state ?? ''} · ${c.health}` : (c.state ?? '');
        return row(containerTable, [
          c.name ?? c.id ?? '',
          c.image ?? '',
          levelBadge(state, containerLevel(c.state ?? '', c.health ?? '')),
          formatCount(c.restart_count ?? 0),
          formatPercent(c.cpu_percent ?? 0),
          c.state === 'running' ? formatBytes(c.memory_bytes ?? 0) : '–',
          c.memory_limit_bytes ? formatBytes(c.memory_limit_bytes) : '–',
          formatBytesPerSec(c.net_recv_bytes_per_sec ?? 0),
          formatBytesPerSec(c.net_sent_bytes_per_sec ?? 0),
          formatBytesPerSec(c.block_read_bytes_per_sec ?? 0),
          formatBytesPerSec(c.block_write_bytes_per_sec ?? 0),
        ]);
      }));
      fill(processTable, (report.top_processes ?? []).map((p) => row(processTable, [p.name ?? '', String(p.pid ?? 0), p.user ?? '', p.state ?? '', formatPercent(p.cpu_percent ?? 0), formatBytes(p.rss_bytes ?? 0)])));
      fill(gpuTable, (report.gpus ?? []).map((g) => row(gpuTable, [
        g.name || `${g.vendor ?? 'GPU'} ${g.index ?? 0}`,
        formatPercent(g.utilization_percent ?? 0),
        `${formatBytes(g.memory_used_bytes ?? 0)} / ${formatBytes(g.memory_total_bytes ?? 0)}`,
        g.has_temperature ? levelBadge(formatCelsius(g.temperature_celsius ?? 0), gpuLevel(true, g.temperature_celsius ?? 0)) : '–',
        `${Math.round(g.power_watts ?? 0)} W`,
      ])));
      fill(diskHealthTable, (report.disk_health ?? []).map((d) => {
        const level = diskHealthLevel(d.passed ?? false, d.reallocated_sectors ?? 0, d.pending_sectors ?? 0, d.percentage_used ?? 0);
        return row(diskHealthTable, [
          d.device ?? '',
          d.model ?? '',
          levelBadge(d.passed ? (level === 'ok' ? 'passed' : 'passed · warning') : 'failing', level),
          d.temperature_celsius ? formatCelsius(d.temperature_celsius) : '–',
          `${formatCount(d.power_on_hours ?? 0)} h`,
          formatCount(d.reallocated_sectors ?? 0),
          formatCount(d.pending_sectors ?? 0),
          d.percentage_used === undefined ? '–' : formatPercent(d.percentage_used, 0),
        ]);
      }));
      fill(serviceTable, (report.services ?? []).map((v) => row(serviceTable, [
        v.name ?? '',
        levelBadge(`${v.active_state ?? ''}${v.sub_state ? ` (${v.sub_state})` : ''}`, serviceLevel(v.active_state ?? '')),
        formatCount(v.restarts ?? 0),
        formatBytes(v.memory_bytes ?? 0),
      ])));
    }
    schedule();
  }

  function fill(t: DetailTable, rows: HTMLTableRowElement[]): void {
    clear(t.body);
    t.body.append(...rows);
    t.root.hidden = rows.length === 0;
  }

  // ---- wiring --------------------------------------------------------------------------------
  const unsubscribe = store.subscribe((change) => {
    if (!change.all && !change.ids.includes(id)) return;
    const m = store.machines.get(id);
    if (m) appendLive(m);
    schedule();
  });
  timers.push(
    window.setInterval(() => {
      if (range !== 'live' && rangeMs > LIVE_APPEND_MAX_MS && Date.now() - lastLoadStartedMs > HISTORY_REFRESH_MS) void loadRange();
      renderHeader();
    }, 1000),
  );
  const initial = store.machines.get(id);
  if (initial) appendLive(initial);
  renderHeader();
  schedule();
  void loadRange();
  if (mode === 'hub') void pollDetail();

  return {
    root,
    destroy() {
      destroyed = true;
      abort.abort();
      for (const t of timers) {
        window.clearTimeout(t);
        window.clearInterval(t);
      }
      if (frame) cancelAnimationFrame(frame);
      unsubscribe();
      machineAlerts?.destroy();
      forget?.destroy();
      intervalControl?.destroy();
      for (const { chart } of charts) chart.destroy();
      perCoreChart?.destroy();
      root.remove();
    },
  };
}
