// In-process event bus for the single-hub default.
import type { Logger } from '../log.ts';
import { deliver, type EventBus, type ReportEventHandler } from './event-bus.ts';

export function createMemoryEvents(log: Logger): EventBus {
  const handlers = new Set<ReportEventHandler>();
  return {
    kind: 'memory',
    async publish(event) {
      deliver(handlers, event, (err) => log.error({ err }, 'event handler failed'));
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
    },
  };
}
