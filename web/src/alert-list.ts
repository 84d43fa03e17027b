// A list of active alerts with their actions (acknowledge, silence for a while, lift a silence), used
// by the alerts panel (every machine) and a machine page (that machine). Every text goes through el()
// and setText(): rule and machine names are never markup.
import { acknowledgeAlert, silenceAlert, type ActiveAlert } from './alerts-api.ts';
import type { AlertsStore } from './alerts-store.ts';
import { clear, el, setAttr, setText } from './dom.ts';
import { machineHref } from './route.ts';
import { formatAlertValue } from '../../proto/alert-metrics.ts';

export const SILENCE_CHOICES = [
  { label: '15 min', seconds: 900 },
  { label: '1 h', seconds: 3600 },
  { label: '4 h', seconds: 4 * 3600 },
  { label: '24 h', seconds: 86_400 },
] as const;

const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export interface AlertListOptions {
  store: AlertsStore;
  /** Display name of a machine id (the live fleet knows it). */
  nameOf: (id: string) => string;
  /** Only this machine's alerts (machine page). */
  machine?: string;
  /** Shown when there is nothing to list. */
  emptyText: string;
  /** Where failures of an action are reported. */
  onError: (message: string) => void;
}

export interface AlertList {
  readonly root: HTMLElement;
  render(): void;
}

function valueText(a: ActiveAlert): string {
  if (a.value === null) return '';
  const text = formatAlertValue(a.metric, a.value);
  return a.metric === 'offline' ? text : `value ${text}`;
}

export function createAlertList(options: AlertListOptions): AlertList {
  const list = el('ul', { class: 'alert-list' });
  const empty = el('p', { class: 'alerts-empty', text: options.emptyText });
  const root = el('div', { class: 'alert-list-wrap' }, [list, empty]);
  let key = '';

  async function act(button: HTMLButtonElement, run: () => Promise<void>): Promise<void> {
    button.disabled = true;
    try {
      await run();
      await options.store.refresh();
    } catch (err) {
      options.onError((err as Error).message);
    } finally {
      button.disabled = false;
    }
  }

  function item(a: ActiveAlert): HTMLLIElement {
    const status = a.state === 'firing' ? a.severity : 'pending';
    const machineName = options.nameOf(a.machine);
    const meta: string[] = [`${a.state} since ${TIME.format(new Date(a.since))}`];
    const value = valueText(a);
    if (value) meta.push(value);
    if (a.acknowledged) meta.push('acknowledged');
    if (a.silenced_until) meta.push(`silenced until ${TIME.format(new Date(a.silenced_until))}`);

    const actions = el('div', { class: 'alert-actions' });
    if (a.state === 'firing' && !a.acknowledged) {
      const ack = el('button', { class: 'small-button ack', text: 'Acknowledge', attrs: { type: 'button' } });
      ack.addEventListener('click', () => void act(ack, () => acknowledgeAlert(a.rule_id, a.machine)));
      actions.append(ack);
    }
    if (a.silenced_until) {
      const lift = el('button', { class: 'small-button unsilence', text: 'Unsilence', attrs: { type: 'button' } });
      lift.addEventListener('click', () => void act(lift, () => silenceAlert(a.rule_id, a.machine, 0)));
      actions.append(lift);
    } else {
      const select = el('select', { class: 'silence-for', attrs: { 'aria-label': `Silence ${a.rule_name} on ${machineName} for` } });
      for (const c of SILENCE_CHOICES) select.append(el('option', { text: c.label, attrs: { value: String(c.seconds) } }));
      select.value = '3600';
      const silence = el('button', { class: 'small-button silence', text: 'Silence', attrs: { type: 'button' } });
      silence.addEventListener('click', () => void act(silence, () => silenceAlert(a.rule_id, a.machine, Number(select.value))));
      actions.append(select, silence);
    }

    return el(
      'li',
      { class: 'alert-item', attrs: { 'data-state': a.state, 'data-severity': a.severity, 'data-status': status, 'data-rule': a.rule_id, 'data-machine': a.machine } },
      [
        el('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }),
        el('div', { class: 'alert-main' }, [
          el('span', { class: 'alert-rule', text: a.rule_name }),
          options.machine ? null : el('a', { class: 'alert-machine', text: machineName, attrs: { href: machineHref(a.machine) } }),
          el('span', { class: 'badge alert-badge', text: a.state === 'firing' ? a.severity : 'pending' }),
          el('span', { class: 'alert-meta', text: meta.join(' · ') }),
        ]),
        actions,
      ],
    );
  }

  function render(): void {
    const alerts = options.store.alerts.filter((a) => options.machine === undefined || a.machine === options.machine);
    // Rebuilt only when something shown changed: keeps focus and an open select in place.
    const nextKey = JSON.stringify(alerts.map((a) => [a.rule_id, a.rule_name, options.nameOf(a.machine), a.state, a.severity, a.acknowledged, a.silenced_until, a.value, a.since]));
    empty.hidden = alerts.length > 0;
    setAttr(root, 'data-count', String(alerts.length));
    if (nextKey === key) return;
    if (root.contains(document.activeElement) && document.activeElement?.tagName === 'SELECT') return;
    key = nextKey;
    clear(list);
    for (const a of alerts) list.append(item(a));
    setText(empty, options.emptyText);
  }

  return { root, render };
}
