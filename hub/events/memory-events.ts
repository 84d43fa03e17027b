// In-process event bus for the single-hub default.
import type { Logger } from '../log.ts';
import { deliver, type EventBus, type ReportBatchHandler, type ReportEvent, type ReportEventHandler } from './event-bus.ts';

export function createMemoryEvents(log: Logger): EventBus {
  const handlers = new Set<ReportEventHandler>();
  // One member per group in a single process; batches run one after another, in publish order.
  type Group = { handler: ReportBatchHandler; queue: ReportEvent[]; running: Promise<void> | undefined };
  const groups = new Map<string, Group>();
  const drain = async (group: Group) => {
    while (group.queue.length > 0) {
      const batch = group.queue.splice(0, 200);
      try {
        await group.handler(batch);
      } catch (err) {
        log.error({ err, events: batch.length }, 'event group handler failed; the events are dropped (memory bus)');
      }
    }
  };
  const kick = (group: Group) => {
    if (group.running) return;
    group.running = drain(group).finally(() => {
      group.running = undefined;
      if (group.queue.length > 0) kick(group); // published while the last batch was finishing
    });
  };

  return {
    kind: 'memory',
    async publish(event) {
      deliver(handlers, event, (err) => log.error({ err }, 'event handler failed'));
      for (const group of groups.values()) {
        group.queue.push(event);
        kick(group);
      }
    },
    async publishMany(events) {
      for (const event of events) deliver(handlers, event, (err) => log.error({ err }, 'event handler failed'));
      for (const group of groups.values()) {
        group.queue.push(...events);
        kick(group);
      }
    },
    consume(name, handler, options = {}) {
      if (groups.has(name)) throw new Error(`event group "${name}" already has a member in this process`);
      const idle = options.idle;
      const group: Group = { handler: idle ? (events) => (idle() ? Promise.resolve() : handler(events)) : handler, queue: [], running: undefined };
      groups.set(name, group);
      return async () => {
        groups.delete(name);
        group.queue.length = 0;
        await group.running;
      };
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
      const running = [...groups.values()].map((g) => g.running);
      groups.clear();
      await Promise.all(running);
    },
  };
}
