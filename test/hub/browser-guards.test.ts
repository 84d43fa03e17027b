// Pure decisions behind the dashboard's browser defences: Host and Origin (origin-guard.ts), the
// wrong-token throttle (login-throttle.ts) and the session store (session-store.ts).
import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from '../../hub/gateway/login-throttle.ts';
import { createOriginGuard, hostName } from '../../hub/gateway/origin-guard.ts';
import { createSessionStore } from '../../hub/gateway/session-store.ts';

describe('origin guard', () => {
  const local = createOriginGuard({ httpHost: '127.0.0.1', allowedHosts: ['monitor.example.test'] });
  const wildcard = createOriginGuard({ httpHost: '0.0.0.0', allowedHosts: [] });
  it.each<[string, string | undefined]>([
    ['Example.COM:8000', 'example.com'],
    ['[::1]:8000', '[::1]'],
    ['localhost.', 'localhost'],
    ['a b', undefined],
    ['user@host', undefined],
    ['host:99999999', undefined],
  ])('hostName(%j) = %j', (h, expected) => expect(hostName(h)).toBe(expected));

  it.each<[string | undefined, boolean, boolean]>([
    // host, accepted bound to 127.0.0.1, accepted bound to 0.0.0.0
    ['localhost:8000', true, true],
    ['127.0.0.1:8000', true, true],
    ['[::1]:8000', true, true],
    ['monitor.example.test', true, false],
    ['192.168.1.20:8000', false, true],
    ['[fd00::5]:8000', false, true],
    ['rebind.attacker.test:8000', false, false],
    ['127.0.0.1.nip.io:8000', false, false],
    [undefined, false, false],
  ])('Host %j: %s when bound to 127.0.0.1, %s when bound to 0.0.0.0', (host, onLoopback, onWildcard) => {
    expect(local.checkHost(host) === undefined).toBe(onLoopback);
    expect(wildcard.checkHost(host) === undefined).toBe(onWildcard);
  });

  it('ALLOWED_HOSTS=* turns the Host check off', () => {
    expect(createOriginGuard({ httpHost: '127.0.0.1', allowedHosts: ['*'] }).checkHost('anything.test')).toBeUndefined();
  });

  it.each<[string | undefined, string | undefined, boolean]>([
    [undefined, undefined, true],
    [undefined, 'none', true],
    [undefined, 'same-origin', true],
    [undefined, 'cross-site', false],
    [undefined, 'same-site', false],
    ['http://127.0.0.1:8000', undefined, true],
    ['http://127.0.0.1:8001', undefined, false],
    ['http://localhost:8000', undefined, false],
    ['https://monitor.example.test', undefined, true],
    ['http://attacker.test', undefined, false],
    ['null', undefined, false],
    ['file://', undefined, false],
    ['garbage', undefined, false],
  ])('Origin %j (Sec-Fetch-Site %j) with Host 127.0.0.1:8000 → allowed %s', (origin, secFetchSite, allowed) => {
    expect(local.checkOrigin({ host: '127.0.0.1:8000', origin, secFetchSite }) === undefined).toBe(allowed);
  });

  it('default ports are the same origin', () => {
    expect(local.checkOrigin({ host: 'localhost:80', origin: 'http://localhost', secFetchSite: undefined })).toBeUndefined();
    expect(local.checkOrigin({ host: 'localhost', origin: 'http://localhost', secFetchSite: undefined })).toBeUndefined();
  });
});

describe('login throttle', () => {
  it('allows a burst of failures, then asks to wait, refilling over time; per address and per /64', () => {
    const t = createLoginThrottle({ perMinute: 6, burst: 3 });
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfterSeconds('10.0.0.1', 0)).toBeUndefined();
      t.failed('10.0.0.1', 0);
    }
    expect(t.retryAfterSeconds('10.0.0.1', 0)).toBe(10);
    expect(t.retryAfterSeconds('10.0.0.2', 0)).toBeUndefined();
    expect(t.retryAfterSeconds('10.0.0.1', 5_000)).toBe(5);
    expect(t.retryAfterSeconds('10.0.0.1', 10_000)).toBeUndefined();
    for (let i = 0; i < 3; i++) t.failed(`2001:db8:1:2::${i + 1}`, 0);
    expect(t.retryAfterSeconds('2001:db8:1:2::99', 0)).toBe(10);
    expect(t.retryAfterSeconds('::ffff:10.0.0.1', 0)).toBe(10);
  });

  it('is bounded in memory', () => {
    const t = createLoginThrottle({ maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) t.failed(`10.1.${i >> 8}.${i & 255}`, i);
    expect(t.trackedAddresses).toBe(100);
  });
});

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
