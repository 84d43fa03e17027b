// The Redis lease (hub/redis-lease.ts) on the local Redis under a key of its own: of two holders one
// gets it; closing releases it and the other takes it at its next attempt; a holder whose key was
// taken from it (expired, then set by another) counts it as lost; a holder whose renewal gets no reply
// (its connection stalled, through a proxy that stops forwarding) counts it as lost before the key
// expires, so two never hold it at once.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
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

test('a renewal that gets no reply: the holder counts the lease lost before another can take it', async () => {
  const stalledKey = `${key}:stalled`;
  const upstream = new URL(REDIS_URL);
  let stalled = false;
  const sockets: net.Socket[] = [];
  // A proxy to the local Redis that, once stalled, forwards nothing either way (a hung network path).
  const proxy = net.createServer((client) => {
    const server = net.connect(Number(upstream.port || 6379), upstream.hostname);
    sockets.push(client, server);
    client.on('data', (d) => void (stalled || server.write(d)));
    server.on('data', (d) => void (stalled || client.write(d)));
    client.on('error', () => {});
    server.on('error', () => {});
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const viaProxy = new Redis({ host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port });
  viaProxy.on('error', () => {});
  const events: string[] = [];
  const a = createRedisLease(viaProxy, { key: stalledKey, ttlMs: 900, log, onAcquired: () => events.push('a acquired'), onLost: () => events.push('a lost') });
  const b = createRedisLease(redis, { key: stalledKey, ttlMs: 900, log, onAcquired: () => events.push('b acquired'), onLost: () => events.push('b lost') });
  try {
    a.start();
    await waitFor('a holds it', () => a.held, 5000, 10);
    b.start();
    stalled = true;
    let both = false;
    const watch = setInterval(() => (both ||= a.held && b.held), 5);
    await waitFor('b takes it once it expired', () => b.held, 5000, 5);
    clearInterval(watch);
    expect(both).toBe(false);
    expect(a.held).toBe(false);
    expect(events).toEqual(['a acquired', 'a lost', 'b acquired']);
  } finally {
    await b.close();
    stalled = false;
    viaProxy.disconnect(); // a's renewal in flight fails
    await a.close();
    for (const s of sockets) s.destroy();
    proxy.close();
    await redis.del(stalledKey);
  }
}, 20_000);
