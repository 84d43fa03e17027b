// The alerts panel above the fleet (hub mode): a summary ("2 firing · 1 pending"), and four tabs —
// the active alerts with acknowledge and silence, the history of transitions, the rule editor and the
// saved notification channels.
// The public edge has no alerts: the panel stays hidden there.
import './alerts.css';
import { fetchAlertHistory, type AlertEvent } from './alerts-api.ts';
import { createAlertList } from './alert-list.ts';
import type { AlertsStore } from './alerts-store.ts';
import { clear, el, setAttr, setText } from './dom.ts';
import { createAdminTokenBox } from './admin-token-box.ts';
import { createChannelEditor } from './channel-editor.ts';
import { createRuleEditor } from './rule-editor.ts';
import { machineHref } from './route.ts';
import { formatAlertValue } from '../../proto/alert-metrics.ts';

const TABS = [
  { key: 'active', label: 'Active' },
  { key: 'history', label: 'History' },
  { key: 'rules', label: 'Rules' },
  { key: 'channels', label: 'Channels' },
] as const;
type TabKey = (typeof TABS)[number]['key'];

const HISTORY_LIMIT = 100;
const HISTORY_REFRESH_MS = 5000;
const STAMP = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export interface AlertsPanel {
  /** Shows the panel (hub mode, fleet view) or hides it. */
  setVisible(visible: boolean): void;
}

export function createAlertsPanel(root: HTMLElement, deps: { store: AlertsStore; nameOf: (id: string) => string }): AlertsPanel {
  const { store } = deps;
  let tab: TabKey = 'active';
  let visible = false;
  let historyTimer = 0;
  const message = el('p', { class: 'form-message', attrs: { role: 'alert' } });
  message.hidden = true;
  const say = (text: string) => {
    message.hidden = text === '';
    setText(message, text);
  };

  const summary = el('span', { class: 'alerts-summary', attrs: { role: 'status', 'aria-live': 'polite' } });
  const tabBar = el('div', { class: 'ranges alerts-tabs', attrs: { role: 'tablist', 'aria-label': 'Alerts' } });
  const panels = new Map<TabKey, HTMLElement>();
  const buttons = new Map<TabKey, HTMLButtonElement>();
  for (const t of TABS) {
    const panel = el('div', { class: `alerts-tab alerts-tab-${t.key}`, attrs: { role: 'tabpanel', id: `alerts-tab-${t.key}` } });
    const button = el('button', { class: 'range', text: t.label, attrs: { type: 'button', role: 'tab', 'aria-controls': panel.id, 'data-tab': t.key } });
    button.addEventListener('click', () => select(t.key));
    tabBar.append(button);
    buttons.set(t.key, button);
    panels.set(t.key, panel);
  }

  // ---- active --------------------------------------------------------------------------------
  const active = createAlertList({ store, nameOf: deps.nameOf, emptyText: 'No active alerts.', onError: say });
  panels.get('active')!.append(active.root);

  // ---- history -------------------------------------------------------------------------------
  const historyBody = el('tbody');
  const historyEmpty = el('p', { class: 'alerts-empty', text: 'Nothing has happened yet.' });
  const historyTable = el('table', { class: 'data-table alert-history' }, [
    el('caption', { class: 'visually-hidden', text: 'Alert history, newest first' }),
    el('thead', {}, [el('tr', {}, ['Time', 'Machine', 'Rule', 'State', 'Value', 'Detail'].map((h, i) => el('th', { text: h, attrs: { scope: 'col', class: i === 4 ? 'num' : i === 5 ? 'opt' : '' } })))]),
    historyBody,
  ]);
  const olderButton = el('button', { class: 'small-button history-older', text: 'Show older', attrs: { type: 'button' } });
  olderButton.hidden = true;
  olderButton.addEventListener('click', () => void loadOlder());
  panels.get('history')!.append(el('div', { class: 'table-scroll' }, [historyTable]), historyEmpty, olderButton);
  // The newest page is refreshed; pages loaded with "Show older" are kept below it (ids only grow).
  let newest: AlertEvent[] = [];
  let older: AlertEvent[] = [];
  let olderDone = false;

  function renderHistory(): void {
    const oldestNew = newest.length ? newest[newest.length - 1].id : Infinity;
    const events = [...newest, ...older.filter((e) => e.id < oldestNew)];
    clear(historyBody);
    historyEmpty.hidden = events.length > 0;
    olderButton.hidden = olderDone || newest.length < HISTORY_LIMIT;
    for (const e of events) {
      historyBody.append(
        el('tr', { attrs: { 'data-state': e.state } }, [
          el('td', { text: STAMP.format(new Date(e.time)) }),
          el('td', {}, [el('a', { text: deps.nameOf(e.machine), attrs: { href: machineHref(e.machine) } })]),
          el('td', { text: e.rule_name }),
          el('td', {}, [el('span', { class: 'history-state', text: e.state, attrs: { 'data-state': e.state, 'data-status': e.state === 'firing' ? e.severity : e.state === 'resolved' ? 'healthy' : 'offline' } })]),
          el('td', { class: 'num', text: e.value === null ? '' : e.metric === null ? String(Math.round(e.value * 100) / 100) : formatAlertValue(e.metric, e.value) }),
          el('td', { class: 'opt', text: e.detail ?? '' }),
        ]),
      );
    }
  }

  async function loadHistory(): Promise<void> {
    try {
      newest = await fetchAlertHistory(HISTORY_LIMIT);
      renderHistory();
    } catch (err) {
      say(`Could not load the history: ${(err as Error).message}`);
    }
  }

  async function loadOlder(): Promise<void> {
    const last = older.length ? older[older.length - 1] : newest[newest.length - 1];
    if (!last) return;
    olderButton.disabled = true;
    try {
      const page = await fetchAlertHistory(HISTORY_LIMIT, last.id);
      older = [...older, ...page];
      olderDone = page.length < HISTORY_LIMIT;
      renderHistory();
    } catch (err) {
      say(`Could not load the history: ${(err as Error).message}`);
    } finally {
      olderButton.disabled = false;
    }
  }

  // ---- rules ---------------------------------------------------------------------------------
  const editor = createRuleEditor({ onChanged: () => void store.refresh() });
  panels.get('rules')!.append(editor.root);

  // ---- the admin token (for the rules and channels tabs) ---------------------------------------
  const tokenBox = createAdminTokenBox();
  tokenBox.root.hidden = true;
  tokenBox.root.classList.add('alerts-token');

  // ---- channels ------------------------------------------------------------------------------
  const channels = createChannelEditor();
  panels.get('channels')!.append(channels.root);

  // ---- shell -----------------------------------------------------------------------------------
  clear(root);
  root.classList.add('panel');
  root.append(el('div', { class: 'panel-head' }, [el('h2', { text: 'Alerts' }), summary, tabBar]), message, tokenBox.root, ...panels.values());

  function select(next: TabKey): void {
    tab = next;
    say('');
    for (const [k, b] of buttons) {
      setAttr(b, 'aria-selected', String(k === tab));
      setAttr(b, 'aria-pressed', String(k === tab));
    }
    for (const [k, p] of panels) p.hidden = k !== tab;
    tokenBox.root.hidden = tab !== 'rules' && tab !== 'channels';
    if (!tokenBox.root.hidden) void tokenBox.refresh();
    window.clearInterval(historyTimer);
    historyTimer = 0;
    if (tab === 'history') {
      void loadHistory();
      historyTimer = window.setInterval(() => void loadHistory(), HISTORY_REFRESH_MS);
    } else if (tab === 'rules') {
      void editor.load();
    } else if (tab === 'channels') {
      void channels.load();
    }
  }

  function renderSummary(): void {
    const firing = store.alerts.filter((a) => a.state === 'firing');
    const critical = firing.filter((a) => a.severity === 'critical').length;
    const pending = store.alerts.length - firing.length;
    const parts = [];
    if (firing.length) parts.push(`${firing.length} firing${critical ? ` (${critical} critical)` : ''}`);
    if (pending) parts.push(`${pending} pending`);
    setText(summary, store.error ? `Alerts unavailable: ${store.error}` : parts.length ? parts.join(' · ') : store.ready ? 'All clear' : '');
    setAttr(root, 'data-status', critical ? 'critical' : firing.length ? 'warning' : 'healthy');
    setText(buttons.get('active')!, firing.length + pending > 0 ? `Active (${firing.length + pending})` : 'Active');
  }

  store.subscribe(() => {
    renderSummary();
    active.render();
  });
  select('active');
  renderSummary();
  active.render();

  return {
    setVisible(next) {
      if (next === visible) return;
      visible = next;
      root.hidden = !next;
      if (next) store.start();
    },
  };
}
