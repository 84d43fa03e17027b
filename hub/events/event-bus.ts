// Every accepted report is published as an event. Subscribers (the live fleet view) tail the bus; with
// Redis it is a Stream, so every hub replica sees every replica's reports. Shared work (alert
// evaluation) consumes it as a group, so each event is handled by one hub. A forgotten machine travels
// the same way (`forgotten`), so every replica drops it.
import type { MachineRecord } from '../state/state-store.ts';

export interface ReportEvent {
  record: MachineRecord;
  /** Hub receipt time (ms) — the start of the receipt → publish latency. */
  receivedAtMs: number;
  /**
   * The machine was forgotten (DELETE /api/machines/{id} or FORGET_OFFLINE_AFTER): every replica's
   * live view drops it; `record` is its last record. Not evaluated by alerting.
   */
  forgotten?: true;
}

export type ReportEventHandler = (event: ReportEvent) => void;
export type ReportBatchHandler = (events: ReportEvent[]) => Promise<void>;

export interface ConsumeOptions {
  /** Redis: events pending this long at a silent member (a crashed hub) are claimed by another. */
  claimIdleMs?: number;
  /**
   * While this answers true, batches are acknowledged without being decoded or handed to the handler
   * (alerting without rules has nothing to evaluate: it spares a JSON.parse of every report).
   */
  idle?: () => boolean;
}

export interface EventBus {
  readonly kind: 'redis' | 'memory';
  publish(event: ReportEvent): Promise<void>;
  /** publish() for a batch, in order (one round trip where the bus has a server). */
  publishMany?(events: readonly ReportEvent[]): Promise<void>;
  /** Delivers events published from now on; returns the unsubscribe function. */
  subscribe(handler: ReportEventHandler): () => void;
  /**
   * Shared work: every event goes to one member of `group` among all hubs on the bus (a Redis consumer
   * group; in memory the one local member), in batches, in publish order. The batch is acknowledged
   * when the handler resolves; when it throws, the events are handed out again later (Redis: claimed
   * after `claimIdleMs`; the memory bus, with nowhere to keep them, logs and drops them), so handlers
   * must be idempotent. Returns a function that stops consuming. One shared contract suite checks every
   * implementation (test/hub/events/event-bus-contract.ts).
   */
  consume(group: string, handler: ReportBatchHandler, options?: ConsumeOptions): () => Promise<void>;
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
