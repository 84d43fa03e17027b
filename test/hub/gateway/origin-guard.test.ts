// hub/gateway/origin-guard.ts, pure: which Host a request may name and which Origin (with
// Sec-Fetch-Site) may change something — the dashboard's defence against DNS rebinding and CSRF.
import { describe, expect, it } from 'vitest';
import { createOriginGuard, hostName } from '../../../hub/gateway/origin-guard.ts';

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
    // Sec-Fetch-Site, set by the browser, decides when present: its own form posts under
    // Referrer-Policy: no-referrer carry Origin "null".
    ['null', 'same-origin', true],
    ['http://attacker.test', 'cross-site', false],
    ['http://127.0.0.1:8000', 'same-site', false],
  ])('Origin %j (Sec-Fetch-Site %j) with Host 127.0.0.1:8000 → allowed %s', (origin, secFetchSite, allowed) => {
    expect(local.checkOrigin({ host: '127.0.0.1:8000', origin, secFetchSite }) === undefined).toBe(allowed);
  });

  it('default ports are the same origin', () => {
    expect(local.checkOrigin({ host: 'localhost:80', origin: 'http://localhost', secFetchSite: undefined })).toBeUndefined();
    expect(local.checkOrigin({ host: 'localhost', origin: 'http://localhost', secFetchSite: undefined })).toBeUndefined();
  });
});
