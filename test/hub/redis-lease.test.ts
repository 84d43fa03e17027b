// The Redis lease (hub/redis-lease.ts) on the local Redis under a key of its own: of two holders one
// gets it; closing releases it and the other takes it at its next attempt; a holder whose key was
// taken from it (expired, then set by another) counts it as lost.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, expect, test } from 'vitest';
import { createRedisLease } from '../../hub/redis-lease.ts';
import { REDIS_URL, waitFor } from '../support/servers.ts';

const redis = new Redis(REDIS_URL);
const key = `sysmonstm-test:${randomUUID()}:edge:lease`;
const log = pino({ level: 'silent' });

afterAll(async () => {
  await redis.del(key);
  await redis.quit();
});

test('one holder at a time; release on close hands it over; a lease taken away is lost', async () => {
  const events: string[] = [];
  const make = (name: string) =>
    createRedisLease(redis, { key, ttlMs: 600, log, onAcquired: () => events.push(`${name} acquired`), onLost: () => events.push(`${name} lost`) });
  const a = make('a');
  const b = make('b');
  a.start();
  await waitFor('a holds it', () => a.held, 5000, 10);
  b.start();
  await new Promise((r) => setTimeout(r, 1000)); // several renewals and attempts
  expect(a.held).toBe(true);
  expect(b.held).toBe(false);

  await a.close();
  await waitFor('b takes it over', () => b.held, 5000, 10);
  expect(events).toEqual(['a acquired', 'b acquired']);

  // Someone else's value in the key: b's next renewal fails, b counts it as lost.
  await redis.set(key, 'another-holder', 'PX', 5000);
  await waitFor('b notices', () => !b.held, 5000, 10);
  expect(events.at(-1)).toBe('b lost');
  await b.close();
  expect(await redis.get(key)).toBe('another-holder'); // a holder never deletes what it does not hold
});
