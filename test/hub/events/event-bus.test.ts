// The EventBus contract on every implementation: memory, Redis (127.0.0.1:6379, a key prefix of its
// own per bus, deleted afterwards), and the fallback bus over a live Redis connection.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import type { EventBus } from '../../../hub/events/event-bus.ts';
import { createFallbackEvents } from '../../../hub/events/fallback-events.ts';
import { createMemoryEvents } from '../../../hub/events/memory-events.ts';
import { createRedisEvents } from '../../../hub/events/redis-events.ts';
import { REDIS_URL } from '../../support/servers.ts';
import { describeEventBusContract } from './event-bus-contract.ts';

const log = pino({ level: 'silent' });
const root = `sysmonstm-test:${randomUUID()}:`;
const redis = new Redis(REDIS_URL);
const prefixes = new WeakMap<EventBus, string>();
let n = 0;

afterAll(async () => {
  const keys = await redis.keys(`${root}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

function redisBus(prefix: string): EventBus {
  const bus = createRedisEvents(redis, () => new Redis(REDIS_URL), log, { prefix });
  prefixes.set(bus, prefix);
  return bus;
}

function fallbackBus(prefix: string): EventBus {
  const bus = createFallbackEvents(createRedisEvents(redis, () => new Redis(REDIS_URL), log, { prefix }), redis, log);
  prefixes.set(bus, prefix);
  return bus;
}

describeEventBusContract('memory', { kind: 'memory', redelivers: false, make: async () => createMemoryEvents(log) });

describeEventBusContract('Redis', {
  kind: 'redis',
  redelivers: true,
  make: async () => redisBus(`${root}${++n}:`),
  peer: async (bus) => redisBus(prefixes.get(bus)!),
});

describeEventBusContract('fallback over a live Redis', {
  kind: 'redis',
  redelivers: true,
  make: async () => fallbackBus(`${root}${++n}:`),
  peer: async (bus) => fallbackBus(prefixes.get(bus)!),
});
