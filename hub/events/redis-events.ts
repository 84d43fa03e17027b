// Report events on a Redis Stream (XADD, capped), tailed with XREAD BLOCK on a dedicated connection so
// every replica's subscribers see every replica's reports. Consumer groups for shared work build on
// the same stream.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { deliver, type EventBus, type ReportEvent, type ReportEventHandler } from './event-bus.ts';

export const EVENTS_STREAM_MAXLEN = 100_000;

export function createRedisEvents(
  command: Redis,
  openBlocking: () => Redis,
  log: Logger,
  options: { prefix?: string } = {},
): EventBus & { readonly streamKey: string } {
  const streamKey = `${options.prefix ?? 'sysmonstm:'}events`;
  const handlers = new Set<ReportEventHandler>();
  let tail: Promise<void> | undefined;
  let reader: Redis | undefined;
  let closed = false;

  async function tailLoop(): Promise<void> {
    reader = openBlocking();
    let lastId = '$';
    while (!closed) {
      try {
        const res = (await reader.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', streamKey, lastId)) as
          | [string, [string, string[]][]][]
          | null;
        if (!res) continue;
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            lastId = id;
            const raw = fields[1];
            let event: ReportEvent;
            try {
              event = JSON.parse(raw) as ReportEvent;
            } catch {
              log.warn({ id }, 'skipping malformed event on stream');
              continue;
            }
            deliver(handlers, event, (err) => log.error({ err }, 'event handler failed'));
          }
        }
      } catch (err) {
        if (closed) break;
        log.warn({ err: (err as Error).message }, 'event stream read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  return {
    kind: 'redis',
    streamKey,
    async publish(event) {
      await command.xadd(streamKey, 'MAXLEN', '~', EVENTS_STREAM_MAXLEN, '*', 'e', JSON.stringify(event));
    },
    subscribe(handler) {
      handlers.add(handler);
      tail ??= tailLoop();
      return () => handlers.delete(handler);
    },
    async close() {
      closed = true;
      handlers.clear();
      reader?.disconnect();
      await tail?.catch(() => {});
    },
  };
}
