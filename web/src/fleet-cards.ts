// The fleet cards, the dashboard's fleet page (the hub's live state of the fleet is hub/fleet/fleet-view.ts):
// a card per machine with status, CPU/memory/disk bars, load, network, a CPU sparkline and "3 s ago",
// plus the status chips, text filter and sort. Built for 1,000 machines: cards are created once and
// updated in place, all work is batched into one animation frame, off-screen cards only get
// marked dirty (an IntersectionObserver catches them up when they scroll in), and the DOM order is
// patched with the fewest moves.
import type { MachineView } from '../../proto/delta.ts';
import { MACHINE_STATUSES, STATUS_THRESHOLDS, type MachineStatus } from '../../proto/status.ts';
import { clear, el, setAttr, setText } from './dom.ts';
import { countByStatus, isSortKey, selectMachines, SORT_KEYS, SORT_LABELS, type FleetFilter, type StatusFilter } from './fleet-filter.ts';
import type { FleetStore } from './fleet-store.ts';
import { formatAgo, formatBytesPerSec, formatLoad, formatPercent } from './format.ts';
import { freshness, type Freshness } from './freshness.ts';
import { fetchFailingCounts, fetchRecent, type DashboardMode } from './hub-api.ts';
import { machineHref } from './route.ts';
import { drawSparkline } from './sparkline.ts';
import { onThemeChange, palette } from './theme.ts';
import { uptimeGradient, uptimePercent, uptimeSlots, type ViewState } from './public-view.ts';
import type { LiveMetric } from '../../proto/delta.ts';

type MeterKey = 'cpu_percent' | 'memory_percent' | 'disk_percent';

interface Meter {
  value: HTMLElement;
  fill: HTMLElement;
}

interface Card {
  id: string;
  li: HTMLLIElement;
  link: HTMLAnchorElement;
  name: HTMLElement;
  badge: HTMLElement;
  /** Hub only: "2 failing" when containers, services or disks of the machine are failing. */
  failing: HTMLElement;
  host: HTMLElement;
  ago: HTMLElement;
  labels: HTMLElement;
  labelsKey: string;
  meters: Record<MeterKey, Meter>;
  /** The rows and cells a public view may hide, by metric. */
  cells: Partial<Record<LiveMetric, HTMLElement>>;
  uptime: HTMLElement;
  uptimeKey: string;
  load: HTMLElement;
  netIn: HTMLElement;
  netOut: HTMLElement;
  spark: HTMLCanvasElement;
  sparkSize: { width: number; height: number };
  visible: boolean;
  dirty: boolean;
  sparkDirty: boolean;
  seeded: boolean;
}

const STATUS_LABEL: Record<MachineStatus, string> = { healthy: 'Healthy', warning: 'Warning', critical: 'Critical', offline: 'Offline' };

function meterLevel(key: MeterKey, v: number | undefined): string {
  if (v === undefined) return '';
  const t = STATUS_THRESHOLDS[key];
  return v > t.critical ? 'crit' : v > t.warning ? 'warn' : '';
}

export interface FleetCardsOptions {
  store: FleetStore;
  mode: () => DashboardMode;
  /** A public view: only its metrics on the cards, and an uptime bar per machine. */
  view?: ViewState;
}

export interface FleetCards {
  readonly root: HTMLElement;
  setActive(active: boolean): void;
  /** Called when the connection state changes so the empty state can say the right thing. */
  refreshEmptyState(): void;
  /** Puts keyboard focus back on a machine's card (returning from its machine view). */
  focusMachine(id: string): void;
  /** Redraws every card (a public view's metrics or uptime changed, not the machines). */
  refreshCards(): void;
}

export function createFleetCards(options: FleetCardsOptions): FleetCards {
  const { store } = options;
  const filter: FleetFilter = { text: '', status: 'all', sort: 'name' };
  const cards = new Map<string, Card>();
  const pending = new Set<string>();
  let orderDirty = true;
  let frame = 0;
  let active = true;
  let shownIds: string[] = [];

  // ---- toolbar -------------------------------------------------------------------------------
  const chips = new Map<StatusFilter, { button: HTMLButtonElement; count: HTMLElement }>();
  const chipBar = el('div', { class: 'chips', attrs: { role: 'group', 'aria-label': 'Filter by status' } });
  for (const status of ['all', ...MACHINE_STATUSES] as StatusFilter[]) {
    const count = el('span', { class: 'chip-count', text: '0' });
    const button = el('button', { class: `chip chip-${status}`, attrs: { type: 'button', 'aria-pressed': String(status === 'all') } }, [
      status === 'all' ? null : el('span', { class: `dot dot-${status}`, attrs: { 'aria-hidden': 'true' } }),
      el('span', { text: status === 'all' ? 'All' : STATUS_LABEL[status] }),
      count,
    ]);
    button.addEventListener('click', () => {
      filter.status = filter.status === status && status !== 'all' ? 'all' : status;
      for (const [s, c] of chips) setAttr(c.button, 'aria-pressed', String(s === filter.status));
      invalidateOrder();
    });
    chips.set(status, { button, count });
    chipBar.append(button);
  }

  const search = el('input', {
    class: 'search',
    attrs: { type: 'search', placeholder: 'Filter: name, host, label (env=prod)…', 'aria-label': 'Filter machines by name, host or label', autocomplete: 'off', spellcheck: 'false' },
  });
  search.addEventListener('input', () => {
    filter.text = search.value;
    invalidateOrder();
  });
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && search.value) {
      search.value = '';
      filter.text = '';
      invalidateOrder();
    }
  });

  const sortSelect = el('select', { class: 'sort', attrs: { 'aria-label': 'Sort machines' } });
  for (const key of SORT_KEYS) sortSelect.append(el('option', { text: `Sort: ${SORT_LABELS[key]}`, attrs: { value: key } }));
  sortSelect.addEventListener('change', () => {
    if (isSortKey(sortSelect.value)) filter.sort = sortSelect.value;
    invalidateOrder();
  });

  const summary = el('p', { class: 'fleet-summary', attrs: { 'aria-live': 'polite' } });
  const toolbar = el('div', { class: 'toolbar' }, [chipBar, el('div', { class: 'toolbar-row' }, [search, sortSelect])]);
  const empty = el('div', { class: 'empty', attrs: { role: 'status' } });
  const grid = el('ul', { class: 'grid', attrs: { 'aria-label': 'Machines' } });
  const root = el('section', { class: 'fleet', attrs: { 'aria-labelledby': 'fleet-title' } }, [
    el('h1', { class: 'visually-hidden', text: 'Fleet', attrs: { id: 'fleet-title' } }),
    toolbar,
    summary,
    empty,
    grid,
  ]);

  // ---- cards ---------------------------------------------------------------------------------
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const card = (entry.target as HTMLElement & { card?: Card }).card;
        if (!card) continue;
        card.visible = entry.isIntersecting;
        if (card.visible && (card.dirty || card.sparkDirty)) schedule(card.id);
        if (card.visible) maybeSeed(card);
      }
    },
    { rootMargin: '300px 0px' },
  );

  const sparkSizes = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const card = (entry.target as HTMLElement & { card?: Card }).card;
      if (!card) continue;
      const box = entry.contentBoxSize[0];
      if (!box) continue;
      card.sparkSize = { width: box.inlineSize, height: box.blockSize };
      card.sparkDirty = true;
      if (card.visible) schedule(card.id);
    }
  });

  function meter(label: string): [HTMLElement, Meter] {
    const value = el('span', { class: 'meter-value' });
    const fill = el('span', { class: 'meter-fill' });
    const row = el('div', { class: 'meter' }, [
      el('dt', { text: label }),
      el('dd', {}, [value, el('span', { class: 'meter-track', attrs: { 'aria-hidden': 'true' } }, [fill])]),
    ]);
    return [row, { value, fill }];
  }

  function createCard(id: string): Card {
    const name = el('span', { class: 'card-name' });
    const badge = el('span', { class: 'badge' });
    const failing = el('span', { class: 'failing-badge', attrs: { title: 'Containers, services or disks failing (see the machine page)' } });
    failing.hidden = true;
    const host = el('span', { class: 'card-host' });
    const ago = el('span', { class: 'card-ago' });
    const labels = el('ul', { class: 'labels', attrs: { 'aria-label': 'Labels' } });
    const [cpuRow, cpu] = meter('CPU');
    const [memRow, mem] = meter('Mem');
    const [diskRow, disk] = meter('Disk');
    const load = el('dd');
    const netIn = el('dd');
    const netOut = el('dd');
    const loadCell = el('div', {}, [el('dt', { text: 'Load' }), load]);
    const inCell = el('div', {}, [el('dt', { text: 'In' }), netIn]);
    const outCell = el('div', {}, [el('dt', { text: 'Out' }), netOut]);
    const spark = el('canvas', { class: 'spark', attrs: { 'aria-hidden': 'true' } });
    const uptime = el('div', { class: 'uptime', attrs: { role: 'img' } }, [
      el('span', { class: 'uptime-bar' }),
      el('span', { class: 'uptime-legend', attrs: { 'aria-hidden': 'true' } }, [el('span', { text: '24 h ago' }), el('span', { text: 'now' })]),
    ]);
    uptime.hidden = true;
    const link = el('a', { class: 'card', attrs: { href: machineHref(id) } }, [
      el('div', { class: 'card-head' }, [el('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }), name, failing, badge]),
      el('div', { class: 'card-sub' }, [host, ago]),
      labels,
      el('dl', { class: 'meters' }, [cpuRow, memRow, diskRow]),
      el('dl', { class: 'stats' }, [loadCell, inCell, outCell]),
      spark,
      uptime,
    ]);
    const li = el('li', { class: 'card-item' }, [link]);
    const card: Card = {
      id,
      li,
      link,
      name,
      badge,
      failing,
      host,
      ago,
      labels,
      labelsKey: '',
      meters: { cpu_percent: cpu, memory_percent: mem, disk_percent: disk },
      cells: { cpu_percent: cpuRow, memory_percent: memRow, disk_percent: diskRow, load_avg_1m: loadCell, network_recv_bytes_sec: inCell, network_sent_bytes_sec: outCell },
      uptime,
      uptimeKey: '',
      load,
      netIn,
      netOut,
      spark,
      sparkSize: { width: 0, height: 0 },
      visible: false,
      dirty: true,
      sparkDirty: true,
      seeded: false,
    };
    (li as HTMLElement & { card?: Card }).card = card;
    (spark as HTMLElement & { card?: Card }).card = card;
    observer.observe(li);
    sparkSizes.observe(spark);
    return card;
  }

  function updateFreshness(card: Card, m: MachineView, now: number): Freshness {
    const f = freshness(m, store.freshnessNow());
    const ago = formatAgo(now - m.lastSeen);
    setText(card.ago, f === 'live' ? ago : `${f === 'stale' ? 'stale' : 'offline'} · ${ago}`);
    setAttr(card.link, 'data-fresh', f);
    return f;
  }

  function updateCard(card: Card, m: MachineView): void {
    const now = store.serverNow();
    setText(card.name, m.name || m.id);
    setAttr(card.link, 'title', m.name === m.host || m.host === '' ? m.name : `${m.name} (${m.host})`);
    setText(card.host, m.host === m.name ? m.id : m.host);
    setText(card.badge, STATUS_LABEL[m.status]);
    const failingNow = failingCounts.get(card.id) ?? 0;
    card.failing.hidden = failingNow === 0;
    setText(card.failing, failingNow === 0 ? '' : `${failingNow} failing`);
    setAttr(card.link, 'data-status', m.status);
    updateFreshness(card, m, now);
    const labelsKey = JSON.stringify(m.labels);
    if (labelsKey !== card.labelsKey) {
      card.labelsKey = labelsKey;
      clear(card.labels);
      const entries = Object.entries(m.labels).slice(0, 6);
      for (const [k, v] of entries) card.labels.append(el('li', { class: 'label', text: v ? `${k}=${v}` : k }));
      card.labels.hidden = entries.length === 0;
    }
    for (const key of ['cpu_percent', 'memory_percent', 'disk_percent'] as MeterKey[]) {
      const v = m.values[key];
      const meterEl = card.meters[key];
      setText(meterEl.value, formatPercent(v));
      const scale = `scaleX(${(Math.min(100, Math.max(0, v ?? 0)) / 100).toFixed(3)})`;
      if (meterEl.fill.style.transform !== scale) meterEl.fill.style.transform = scale;
      setAttr(meterEl.fill, 'data-level', meterLevel(key, v));
    }
    setText(card.load, formatLoad(m.values.load_avg_1m));
    setText(card.netIn, formatBytesPerSec(m.values.network_recv_bytes_sec));
    setText(card.netOut, formatBytesPerSec(m.values.network_sent_bytes_sec));
    if (options.view) updateViewParts(card, options.view);
    card.dirty = false;
  }

  /** A public view: hides what the view does not show (CPU also drops its sparkline), draws uptime. */
  function updateViewParts(card: Card, view: ViewState): void {
    const metrics = view.metrics();
    for (const [metric, cell] of Object.entries(card.cells) as [LiveMetric, HTMLElement][]) cell.hidden = metrics !== null && !metrics.has(metric);
    card.spark.hidden = metrics !== null && !metrics.has('cpu_percent');
    const bits = view.uptime(card.id);
    if (bits === undefined || bits === card.uptimeKey) return;
    card.uptimeKey = bits;
    const slots = uptimeSlots(bits);
    const bar = card.uptime.firstElementChild as HTMLElement;
    bar.style.backgroundImage = uptimeGradient(slots, 'var(--healthy)', 'var(--uptime-missed)');
    setAttr(card.uptime, 'aria-label', `Seen in ${uptimePercent(slots)} % of the last 24 hours`);
    setAttr(card.uptime, 'title', `Uptime, last 24 h: seen in ${slots.filter(Boolean).length} of ${slots.length} quarter hours`);
    card.uptime.hidden = false;
  }

  function drawSpark(card: Card, m: MachineView): void {
    const ring = store.spark(card.id);
    const [times, cpu] = ring ? ring.columns() : [[], []];
    drawSparkline(card.spark, card.sparkSize, times, cpu ?? [], palette().status[m.status === 'healthy' ? 'healthy' : m.status]);
    card.sparkDirty = false;
  }

  // Hub only: the failing containers, services and disks per machine, from the hub's REST list every
  // FAILING_POLL_MS while the fleet is shown (the live delta carries headline metrics only).
  const FAILING_POLL_MS = 10_000;
  let failingCounts = new Map<string, number>();
  let failingPolledAtMs = -Infinity;
  let failingPolling = false;
  function pollFailing(): void {
    if (!active || failingPolling || options.mode() !== 'hub' || Date.now() - failingPolledAtMs < FAILING_POLL_MS) return;
    failingPolling = true;
    failingPolledAtMs = Date.now();
    fetchFailingCounts()
      .then((counts) => {
        const changed = new Set([...failingCounts.keys(), ...counts.keys()].filter((id) => failingCounts.get(id) !== counts.get(id)));
        failingCounts = counts;
        for (const id of changed) if (cards.has(id)) {
          cards.get(id)!.dirty = true;
          schedule(id);
        }
      })
      .catch((err: Error) => console.warn(`sysmonstm: could not read the failing counts: ${err.message}`))
      .finally(() => (failingPolling = false));
  }
  window.setInterval(pollFailing, 1000);

  // Hub only: fill a card's sparkline from the hub's recent ring the first time it scrolls into view,
  // a few requests at a time.
  const seedQueue: Card[] = [];
  let seeding = 0;
  function maybeSeed(card: Card): void {
    if (card.seeded || options.mode() !== 'hub') return;
    card.seeded = true;
    seedQueue.push(card);
    pumpSeeds();
  }
  function pumpSeeds(): void {
    while (seeding < 4 && seedQueue.length > 0) {
      const card = seedQueue.shift()!;
      seeding++;
      fetchRecent(card.id, 120)
        .then((samples) => {
          store.seedSpark(
            card.id,
            samples.map((s) => ({ tMs: s.t, cpu: s.metrics.cpu_percent ?? null })),
          );
          card.sparkDirty = true;
          schedule(card.id);
        })
        .catch((err: Error) => console.warn(`sysmonstm: no recent samples for ${card.id}: ${err.message}`))
        .finally(() => {
          seeding--;
          pumpSeeds();
        });
    }
  }

  // ---- scheduling ----------------------------------------------------------------------------
  function schedule(id?: string): void {
    if (id !== undefined) pending.add(id);
    if (frame === 0) frame = requestAnimationFrame(flush);
  }
  function invalidateOrder(): void {
    orderDirty = true;
    schedule();
  }

  function applyOrder(): void {
    shownIds = selectMachines(store.machines.values(), filter);
    const wanted = new Set(shownIds);
    for (const child of [...grid.children]) {
      const card = (child as HTMLElement & { card?: Card }).card;
      if (!card || !wanted.has(card.id)) child.remove();
    }
    for (let i = 0; i < shownIds.length; i++) {
      let card = cards.get(shownIds[i]);
      if (!card) {
        card = createCard(shownIds[i]);
        cards.set(card.id, card);
        updateCard(card, store.machines.get(card.id)!);
      }
      const at = grid.children[i];
      if (at !== card.li) grid.insertBefore(card.li, at ?? null);
    }
    const counts = countByStatus(store.machines.values(), filter.text);
    for (const [status, chip] of chips) setText(chip.count, String(counts[status]));
    const total = store.machines.size;
    setText(summary, total === 0 ? '' : shownIds.length === total ? `${total} machine${total === 1 ? '' : 's'}` : `${shownIds.length} of ${total} machines shown`);
    orderDirty = false;
    refreshEmptyState();
  }

  function flush(): void {
    frame = 0;
    if (!active) return;
    if (orderDirty) applyOrder();
    for (const id of pending) {
      const card = cards.get(id);
      const m = store.machines.get(id);
      if (!card || !m) continue;
      if (!card.visible) {
        card.dirty = true;
        card.sparkDirty = true;
        continue;
      }
      updateCard(card, m);
      drawSpark(card, m);
    }
    pending.clear();
  }

  function refreshEmptyState(): void {
    clear(empty);
    if (!store.ready) {
      empty.append(el('p', { text: 'Waiting for the first fleet snapshot…' }));
    } else if (store.machines.size === 0) {
      empty.append(el('p', { class: 'empty-title', text: 'No machine has reported yet.' }));
      if (options.mode() === 'hub') {
        empty.append(
          el('p', { text: 'Start a collector on a machine and point it at this hub:' }),
          el('code', { text: `sysmonstm collector --hub http://${window.location.hostname}:50051` }),
        );
      }
    } else if (shownIds.length === 0) {
      empty.append(el('p', { text: 'No machine matches the filter.' }));
    }
    empty.hidden = empty.childElementCount === 0;
  }

  // ---- wiring --------------------------------------------------------------------------------
  const cardStatus = new Map<string, MachineStatus>();
  store.subscribe((change) => {
    if (change.all) {
      for (const [id, card] of cards) {
        if (!store.machines.has(id)) {
          observer.unobserve(card.li);
          sparkSizes.unobserve(card.spark);
          card.li.remove();
          cards.delete(id);
          cardStatus.delete(id);
        }
      }
      orderDirty = true;
      for (const id of change.ids) pending.add(id);
    } else {
      for (const id of change.ids) {
        const m = store.machines.get(id);
        if (!m) {
          const card = cards.get(id);
          if (card) {
            observer.unobserve(card.li);
            sparkSizes.unobserve(card.spark);
            card.li.remove();
            cards.delete(id);
          }
          orderDirty = true;
          continue;
        }
        if (!cards.has(id) || cardStatus.get(id) !== m.status || filter.sort !== 'name' || filter.text !== '') orderDirty = true;
        cardStatus.set(id, m.status);
        pending.add(id);
        const card = cards.get(id);
        if (card) card.sparkDirty = true;
      }
    }
    schedule();
  });

  // "3 s ago" and staleness move with the clock, not with messages.
  window.setInterval(() => {
    if (!active) return;
    const now = store.serverNow();
    for (const card of cards.values()) {
      if (!card.visible) continue;
      const m = store.machines.get(card.id);
      if (m) updateFreshness(card, m, now);
    }
  }, 1000);

  options.view?.subscribe((kind) => {
    if (kind === 'h') return;
    for (const card of cards.values()) {
      if (card.visible) pending.add(card.id);
      else card.dirty = true;
    }
    schedule();
  });

  onThemeChange(() => {
    for (const card of cards.values()) card.sparkDirty = true;
    for (const card of cards.values()) if (card.visible) pending.add(card.id);
    schedule();
  });

  document.addEventListener('keydown', (ev) => {
    if (!active || ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    ev.preventDefault();
    search.focus();
  });

  refreshEmptyState();
  return {
    root,
    setActive(next) {
      active = next;
      root.hidden = !next;
      if (next) {
        pollFailing();
        orderDirty = true;
        for (const card of cards.values()) pending.add(card.id);
        schedule();
      }
    },
    refreshEmptyState,
    refreshCards() {
      for (const card of cards.values()) pending.add(card.id);
      schedule();
    },
    focusMachine(id) {
      if (orderDirty) applyOrder();
      cards.get(id)?.link.focus({ preventScroll: true });
    },
  };
}
