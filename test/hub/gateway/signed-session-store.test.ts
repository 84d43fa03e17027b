// Sessions every hub process accepts (hub/gateway/signed-session-store.ts) and sign-outs shared through
// the local Redis under a prefix of its own (shared-revocations.ts): an id is valid until its expiry
// with the key it was signed with only; a changed character, another token's key or a forged expiry
// is refused; a sign-out in one process ends the session in another, and in one started later.
// On a private Redis that is killed and started again (empty): a sign-out made while Redis was away,
// or published while another process's channel connection was lost, still ends the session there.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import { createSharedRevocations, type SharedRevocations } from '../../../hub/gateway/shared-revocations.ts';
import { createSignedSessionStore, sessionKey } from '../../../hub/gateway/signed-session-store.ts';
import { startPrivateRedis } from '../../support/private-servers.ts';
import { REDIS_URL, waitFor } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
const prefix = `sysmonstm-test:${randomUUID()}:`;
const connections: Redis[] = [];
const lists: SharedRevocations[] = [];
const open = () => {
  const r = new Redis(REDIS_URL);
  connections.push(r);
  return r;
};
async function shared(): Promise<SharedRevocations> {
  const list = createSharedRevocations(log);
  await list.connect(open(), open(), prefix);
  lists.push(list);
  return list;
}

afterAll(async () => {
  for (const l of lists) await l.close();
  const r = open();
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  await Promise.all(connections.map((c) => c.quit()));
});

describe('signed sessions', () => {
  test('valid until expiry, with its key only; tampering is refused', async () => {
    const key = sessionKey('dashboard-token-one-0123456789');
    const revoked = await shared();
    const a = createSignedSessionStore({ key, revoked, lifetimeMs: 60_000 });
    const b = createSignedSessionStore({ key, revoked, lifetimeMs: 60_000 }); // another process, same token
    const other = createSignedSessionStore({ key: sessionKey('dashboard-token-two-0123456789'), revoked });
    const id = a.create(1_000);
    expect(a.valid(id, 1_001)).toBe(true);
    expect(b.valid(id, 1_001)).toBe(true);
    expect(b.valid(id, 61_000)).toBe(false); // expired
    expect(other.valid(id, 1_001)).toBe(false);
    const [exp, random, mac] = id.split('.');
    expect(a.valid(`${(Number.parseInt(exp!, 16) + 1e9).toString(16)}.${random}.${mac}`, 1_001)).toBe(false); // a longer life is not signed
    expect(a.valid(`${exp}.${random!.replace(/^./, (c) => (c === '0' ? '1' : '0'))}.${mac}`, 1_001)).toBe(false);
    expect(a.valid(`${id}x`, 1_001)).toBe(false);
    expect(a.valid('', 1_001)).toBe(false);
  });

  test('a sign-out in one process ends the session in the others, and in one started later', async () => {
    const key = sessionKey('dashboard-token-three-0123456789');
    const [listA, listB] = [await shared(), await shared()];
    const a = createSignedSessionStore({ key, revoked: listA });
    const b = createSignedSessionStore({ key, revoked: listB });
    const id = a.create(Date.now());
    const keep = a.create(Date.now());
    expect(b.valid(id, Date.now())).toBe(true);
    b.revoke(id);
    expect(b.valid(id, Date.now())).toBe(false);
    await waitFor('the sign-out in the other process', () => !a.valid(id, Date.now()), 5000, 10);
    expect(a.valid(keep, Date.now())).toBe(true);
    const c = createSignedSessionStore({ key, revoked: await shared() });
    expect(c.valid(id, Date.now())).toBe(false);
    expect(c.valid(keep, Date.now())).toBe(true);
  });

  test('signing out a session already signed out shares nothing again (a replayed cookie costs Redis nothing)', async () => {
    const key = sessionKey('dashboard-token-six-0123456789');
    const list = await shared();
    const store = createSignedSessionStore({ key, revoked: list });
    const listener = open();
    const heard: string[] = [];
    listener.on('message', (_ch: string, message: string) => heard.push(message));
    await listener.subscribe(`${prefix}sessions:revoked`);
    const id = store.create(Date.now());
    store.revoke(id);
    await waitFor('the sign-out on the channel', () => heard.length === 1, 5000, 10);
    for (let i = 0; i < 20; i++) store.revoke(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(heard.length).toBe(1);
    expect(store.valid(id, Date.now())).toBe(false);
  });
});

describe('sign-outs when Redis goes away', () => {
  test('a sign-out made while Redis is down reaches the other processes once it is back', async () => {
    const server = await startPrivateRedis();
    const conns: Redis[] = [];
    const conn = () => {
      const r = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 });
      r.on('error', () => {});
      conns.push(r);
      return r;
    };
    const [listA, listB] = [createSharedRevocations(log), createSharedRevocations(log)];
    try {
      await server.start();
      await listA.connect(conn(), conn(), 'p:');
      await listB.connect(conn(), conn(), 'p:');
      const key = sessionKey('dashboard-token-four-0123456789');
      const a = createSignedSessionStore({ key, revoked: listA });
      const b = createSignedSessionStore({ key, revoked: listB });
      const id = a.create(Date.now());
      await server.kill('SIGKILL');
      await waitFor('the connections to notice', () => conns.every((c) => c.status !== 'ready'), 5000, 10);
      a.revoke(id);
      expect(a.valid(id, Date.now())).toBe(false);
      await new Promise((r) => setTimeout(r, 300)); // the write has failed by now
      await server.start(); // empty: nothing was saved
      await waitFor('the sign-out in the other process', () => !b.valid(id, Date.now()), 10_000, 20);
      // And in a process started later: it is in Redis.
      const listC = createSharedRevocations(log);
      await listC.connect(conn(), conn(), 'p:');
      expect(createSignedSessionStore({ key, revoked: listC }).valid(id, Date.now())).toBe(false);
      await listC.close();
    } finally {
      await listA.close();
      await listB.close();
      for (const c of conns) c.disconnect();
      await server.remove();
    }
  }, 30_000);

  test('a sign-out published while a process was not subscribed reaches it once it is again', async () => {
    const server = await startPrivateRedis();
    const conns: Redis[] = [];
    const conn = (retryMs = 50) => {
      const r = new Redis(server.url, { retryStrategy: () => retryMs });
      r.on('error', () => {});
      conns.push(r);
      return r;
    };
    const [listA, listB] = [createSharedRevocations(log), createSharedRevocations(log)];
    try {
      await server.start();
      await listA.connect(conn(), conn(), 'p:');
      const subscriberB = conn(500);
      const subscriberId = await subscriberB.client('ID');
      await listB.connect(conn(), subscriberB, 'p:');
      const key = sessionKey('dashboard-token-five-0123456789');
      const a = createSignedSessionStore({ key, revoked: listA });
      const b = createSignedSessionStore({ key, revoked: listB });
      const id = a.create(Date.now());
      const admin = conn();
      await admin.client('KILL', 'ID', String(subscriberId));
      a.revoke(id);
      await waitFor('the sign-out in Redis', async () => (await admin.zcard('p:sessions:revoked')) === 1, 5000, 10);
      expect(b.valid(id, Date.now())).toBe(true); // not heard: B's channel connection is down
      await waitFor('the sign-out in the process that was not subscribed', () => !b.valid(id, Date.now()), 10_000, 20);
    } finally {
      await listA.close();
      await listB.close();
      for (const c of conns) c.disconnect();
      await server.remove();
    }
  }, 30_000);
});
