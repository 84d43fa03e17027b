// hub/gateway/session-store.ts, pure: dashboard sessions — random ids, expiry, revocation, a bound
// on how many are held.
import { describe, expect, it } from 'vitest';
import { createSessionStore } from '../../../hub/gateway/session-store.ts';

describe('session store', () => {
  it('random ids, valid until they expire or are revoked', () => {
    const s = createSessionStore({ lifetimeMs: 1000 });
    const a = s.create(0);
    const b = s.create(0);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(s.valid(a, 999)).toBe(true);
    expect(s.valid(a, 1000)).toBe(false);
    expect(s.valid(b.toUpperCase(), 0)).toBe(false);
    s.revoke(b);
    expect(s.valid(b, 0)).toBe(false);
    expect(s.valid('', 0)).toBe(false);
  });

  it('holds at most maxSessions: the oldest is ended first', () => {
    const s = createSessionStore({ maxSessions: 3 });
    const ids = [0, 1, 2, 3].map((i) => s.create(i));
    expect(s.size).toBe(3);
    expect(s.valid(ids[0], 10)).toBe(false);
    expect(ids.slice(1).every((id) => s.valid(id, 10))).toBe(true);
  });
});
