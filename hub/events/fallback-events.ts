// The Redis event bus with a local fallback: while the Redis connection is not ready (or a publish
// fails), events are delivered in process instead — to this hub's subscribers (the live view) and to
// its members of consumer groups (alert evaluation) — so a Redis outage never stops the live view or
// alerts of the machines this hub ingests. Each event goes one way: to the stream, or locally. When
// Redis is back, publishing returns to the stream by itself (the readers reconnect on their own).
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { EventBus, ReportEvent } from './event-bus.ts';
import { createMemoryEvents } from './memory-events.ts';

export interface FallbackEventStats {
  publishedToRedis: number;
  deliveredLocally: number;
}

export function createFallbackEvents(
  redisEvents: EventBus & { publishEach?(events: readonly ReportEvent[]): Promise<Array<Error | null>> },
  redis: Pick<Redis, 'status'>,
  log: Logger,
): EventBus & { stats(): FallbackEventStats } {
  const localBus = createMemoryEvents(log);
  const stats: FallbackEventStats = { publishedToRedis: 0, deliveredLocally: 0 };
  let degraded = false;

  return {
    kind: redisEvents.kind,
    async publish(event) {
      if (redis.status === 'ready') {
        try {
          await redisEvents.publish(event);
          stats.publishedToRedis++;
          if (degraded) {
            degraded = false;
            log.info('Redis is back: events go to the stream again');
          }
          return;
        } catch (err) {
          if (!degraded) log.warn({ err: (err as Error).message }, 'event publish to Redis failed; delivering events in this hub until it is back');
          degraded = true;
        }
      } else if (!degraded) {
        degraded = true;
        log.warn('Redis unavailable: delivering events in this hub until it is back');
      }
      stats.deliveredLocally++;
      await localBus.publish(event);
    },
    async publishMany(events) {
      if (events.length === 0) return;
      let local: readonly ReportEvent[] = events;
      if (redis.status === 'ready') {
        const results = redisEvents.publishEach ? await redisEvents.publishEach(events) : await Promise.all(events.map((e) => redisEvents.publish(e).then(() => null, (err: Error) => err)));
        const firstError = results.find((r) => r !== null);
        local = events.filter((_, i) => results[i] !== null);
        stats.publishedToRedis += events.length - local.length;
        if (!firstError && degraded) {
          degraded = false;
          log.info('Redis is back: events go to the stream again');
        } else if (firstError) {
          if (!degraded) log.warn({ err: firstError.message }, 'event publish to Redis failed; delivering events in this hub until it is back');
          degraded = true;
        }
      } else if (!degraded) {
        degraded = true;
        log.warn('Redis unavailable: delivering events in this hub until it is back');
      }
      if (local.length === 0) return;
      stats.deliveredLocally += local.length;
      await localBus.publishMany!(local);
    },
    subscribe(handler) {
      const offRedis = redisEvents.subscribe(handler);
      const offLocal = localBus.subscribe(handler);
      return () => {
        offRedis();
        offLocal();
      };
    },
    consume(group, handler, options) {
      const stopRedis = redisEvents.consume(group, handler, options);
      const stopLocal = localBus.consume(group, handler, options);
      return async () => {
        await Promise.all([stopRedis(), stopLocal()]);
      };
    },
    async close() {
      await Promise.all([redisEvents.close(), localBus.close()]);
    },
    stats: () => ({ ...stats }),
  };
}
