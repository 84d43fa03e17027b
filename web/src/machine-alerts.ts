// A machine page's alerts (hub mode): that machine's active alerts with acknowledge and silence, from
// the shared alerts store. Hidden while there are none.
import { createAlertList } from './alert-list.ts';
import type { AlertsStore } from './alerts-store.ts';
import { el, setText } from './dom.ts';

export interface MachineAlerts {
  readonly root: HTMLElement;
  destroy(): void;
}

export function createMachineAlerts(machineId: string, deps: { store: AlertsStore; nameOf: (id: string) => string }): MachineAlerts {
  const message = el('p', { class: 'form-message', attrs: { role: 'alert' } });
  message.hidden = true;
  const list = createAlertList({
    store: deps.store,
    nameOf: deps.nameOf,
    machine: machineId,
    emptyText: 'No active alerts on this machine.',
    onError: (text) => {
      message.hidden = false;
      setText(message, text);
    },
  });
  const root = el('section', { class: 'panel machine-alerts', attrs: { 'aria-label': 'Alerts on this machine' } }, [el('h2', { text: 'Alerts' }), message, list.root]);
  const render = () => {
    list.render();
    root.hidden = deps.store.alerts.every((a) => a.machine !== machineId);
  };
  const unsubscribe = deps.store.subscribe(render);
  deps.store.start();
  render();
  return {
    root,
    destroy() {
      unsubscribe();
      root.remove();
    },
  };
}
