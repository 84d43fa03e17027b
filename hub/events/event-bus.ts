// Every accepted report is published as an event. Subscribers (the live fleet view, alerting) tail
// the bus; with Redis it is a Stream, so every hub replica sees every replica's reports.
import type { MachineRecord } from '../state/state-store.ts';

export interface ReportEvent {
  record: MachineRecord;
  /** Hub receipt time (ms) — the start of the receipt → publish latency. */
  receivedAtMs: number;
}

export type ReportEventHandler = (event: ReportEvent) => void;

export interface EventBus {
  readonly kind: 'redis' | 'memory';
  publish(event: ReportEvent): Promise<void>;
  /** Delivers events published from now on; returns the unsubscribe function. */
  subscribe(handler: ReportEventHandler): () => void;
  close(): Promise<void>;
}

/** Calls every handler, isolating their failures from each other and from the publisher. */
export function deliver(handlers: Iterable<ReportEventHandler>, event: ReportEvent, onError: (err: unknown) => void): void {
  for (const handler of handlers) {
    try {
      handler(event);
    } catch (err) {
      onError(err);
    }
  }
}
