// Sessions every hub process accepts (hub/gateway/signed-session-store.ts) and sign-outs shared through
// the local Redis under a prefix of its own (shared-revocations.ts): an id is valid until its expiry
// with the key it was signed with only; a changed character, another token's key or a forged expiry
// is refused; a sign-out in one process ends the session in another, and in one started later.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import { createSharedRevocations, type SharedRevocations } from '../../../hub/gateway/shared-revocations.ts';
import { createSignedSessionStore, sessionKey } from '../../../hub/gateway/signed-session-store.ts';
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
});
