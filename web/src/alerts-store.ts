// The active alerts the dashboard shows, polled from the hub every few seconds (hub mode only) and
// shared by the alerts panel and the machine pages. Listeners hear about every refresh.
import { fetchActiveAlerts, type ActiveAlert } from './alerts-api.ts';

export const ALERTS_POLL_MS = 2000;

export interface AlertsStore {
  readonly alerts: readonly ActiveAlert[];
  /** The last refresh failed with this message (the list shown is the last good one). */
  readonly error: string | undefined;
  /** True once the first answer arrived. */
  readonly ready: boolean;
  subscribe(listener: () => void): () => void;
  start(): void;
  /** Asks again now (after an acknowledge, a silence or a rule change). */
  refresh(): Promise<void>;
}

export function createAlertsStore(): AlertsStore {
  let alerts: ActiveAlert[] = [];
  let error: string | undefined;
  let ready = false;
  let timer = 0;
  let inFlight: Promise<void> | undefined;
  const listeners = new Set<() => void>();

  const notify = () => {
    for (const l of listeners) {
      try {
        l();
      } catch (err) {
        console.error('sysmonstm: alerts listener failed', err);
      }
    }
  };

  async function load(): Promise<void> {
    try {
      alerts = await fetchActiveAlerts();
      error = undefined;
      ready = true;
    } catch (err) {
      error = (err as Error).message;
    }
    notify();
  }

  const store: AlertsStore = {
    get alerts() {
      return alerts;
    },
    get error() {
      return error;
    },
    get ready() {
      return ready;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (timer) return;
      void store.refresh();
      timer = window.setInterval(() => void store.refresh(), ALERTS_POLL_MS);
    },
    refresh() {
      inFlight ??= load().finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
  return store;
}
