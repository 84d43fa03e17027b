// The hub's token checks, pure: the collector tokens (shared and per machine, the tokens file format)
// and the dashboard gate (bearer, session cookie), plus the config rules for the new secrets.
import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { bearerToken, createCollectorAuth, parseCollectorTokens, tokensEqual } from '../../hub/collector-auth.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { createDashboardAuth, readCookie, SESSION_COOKIE } from '../../hub/gateway/dashboard-auth.ts';

const SHARED = 'shared-token-0123456789';
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConnectError ? Code[err.code] : String(err);
  }
  return 'ok';
};

describe('collector tokens', () => {
  it('parses the tokens file and names the line of a mistake', () => {
    const text = '# machine token\n\nweb-01 aaaaaaaaaaaaaaaa1\n  db-01\tbbbbbbbbbbbbbbbb2  \n';
    expect(parseCollectorTokens(text, 'tokens.txt')).toEqual([
      ['web-01', 'aaaaaaaaaaaaaaaa1'],
      ['db-01', 'bbbbbbbbbbbbbbbb2'],
    ]);
    expect(() => parseCollectorTokens('web-01\n', 'f')).toThrow(/f line 1: expected "machine_id token"/);
    expect(() => parseCollectorTokens('bad/id aaaaaaaaaaaaaaaa\n', 'f')).toThrow(/line 1: machine id/);
    expect(() => parseCollectorTokens('a short\n', 'f')).toThrow(/16\.\.512 printable/);
    expect(() => parseCollectorTokens('a aaaaaaaaaaaaaaaa\na bbbbbbbbbbbbbbbb\n', 'f')).toThrow(/line 2: machine a is listed twice/);
    expect(() => parseCollectorTokens('a aaaaaaaaaaaaaaaa\nb aaaaaaaaaaaaaaaa\n', 'f')).toThrow(/line 2: this token is already used/);
  });

  it('is off without tokens; with them, a missing or wrong token is UNAUTHENTICATED', () => {
    expect(createCollectorAuth({})).toBeUndefined();
    const auth = createCollectorAuth({ sharedToken: SHARED, machineTokens: [['web-01', 'web-01-token-abcdefgh']] })!;
    expect(codeOf(() => auth.authenticate(undefined))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate('Basic abc'))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate(`Bearer ${SHARED}x`))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate(`Bearer ${SHARED.slice(0, -1)}`))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate(SHARED))).toBe('Unauthenticated');
    expect(auth.authenticate(`Bearer ${SHARED}`)).toEqual({ machineId: undefined });
    expect(auth.authenticate('bearer   web-01-token-abcdefgh ')).toEqual({ machineId: 'web-01' });
  });

  it('a machine token speaks only for its machine: PERMISSION_DENIED for another id', () => {
    const auth = createCollectorAuth({ machineTokens: [['web-01', 'web-01-token-abcdefgh']] })!;
    const grant = auth.authenticate('Bearer web-01-token-abcdefgh');
    expect(codeOf(() => auth.authorize(grant, 'web-01'))).toBe('ok');
    expect(codeOf(() => auth.authorize(grant, 'db-01'))).toBe('PermissionDenied');
    expect(codeOf(() => auth.authenticate(`Bearer ${SHARED}`))).toBe('Unauthenticated'); // no shared token set
  });

  it('bearerToken and tokensEqual', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('')).toBeNull();
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
  });
});

describe('dashboard token', () => {
  const auth = createDashboardAuth('dashboard-token-0123456789', { alsoAcceptBearer: ['admin-token-0123456789ab', ''] });
  const cookie = auth.sessionCookie(false).split(';')[0];

  it('accepts the bearer token, the admin token as a bearer, and the session cookie; nothing else', () => {
    expect(auth.allows({ authorization: 'Bearer dashboard-token-0123456789' })).toBe(true);
    expect(auth.allows({ authorization: 'Bearer admin-token-0123456789ab' })).toBe(true);
    expect(auth.allows({ cookie: `theme=dark; ${cookie}` })).toBe(true);
    expect(auth.allows({})).toBe(false);
    expect(auth.allows({ authorization: 'Bearer ' })).toBe(false);
    expect(auth.allows({ authorization: 'Bearer dashboard-token-012345678' })).toBe(false);
    expect(auth.allows({ cookie: `${SESSION_COOKIE}=dashboard-token-0123456789` })).toBe(false); // the cookie is not the token
    expect(auth.allows({ cookie: `${cookie}0` })).toBe(false);
    expect(auth.isToken('dashboard-token-0123456789')).toBe(true);
    expect(auth.isToken('admin-token-0123456789ab')).toBe(false); // the login form takes the dashboard token only
  });

  it('the session cookie is HttpOnly and SameSite=Strict, Secure behind https, and changes with the token', () => {
    expect(auth.sessionCookie(false)).toMatch(/HttpOnly; SameSite=Strict$/);
    expect(auth.sessionCookie(true)).toMatch(/; Secure$/);
    const other = createDashboardAuth('another-token-0123456789');
    expect(other.allows({ cookie })).toBe(false);
  });

  it('readCookie', () => {
    expect(readCookie('a=1; b=2', 'b')).toBe('2');
    expect(readCookie('a=1', 'b')).toBeUndefined();
    expect(readCookie(undefined, 'b')).toBeUndefined();
  });
});

describe('hub config: security settings', () => {
  it('reads tokens, TLS paths, the viewer cap and the spool size', () => {
    const c = parseHubConfig([], {
      COLLECTOR_TOKEN: SHARED,
      COLLECTOR_TOKENS_FILE: '/etc/sysmonstm/tokens',
      DASHBOARD_TOKEN: 'dashboard-token-0123456789',
      GRPC_TLS_CERT: '/c.pem',
      GRPC_TLS_KEY: '/k.pem',
      MAX_VIEWERS: '50',
      HISTORY_SPOOL_MAX_BYTES: '0',
    });
    expect(c).toMatchObject({
      collectorToken: SHARED,
      collectorTokensFile: '/etc/sysmonstm/tokens',
      dashboardToken: 'dashboard-token-0123456789',
      grpcTls: { certFile: '/c.pem', keyFile: '/k.pem' },
      maxViewers: 50,
      historySpoolMaxBytes: 0,
    });
    expect(parseHubConfig([], {})).toMatchObject({ collectorToken: undefined, dashboardToken: undefined, grpcTls: undefined, maxViewers: 1000, historySpoolMaxBytes: 1024 ** 3 });
  });

  it.each([
    [{ COLLECTOR_TOKEN: 'short' }, /COLLECTOR_TOKEN: must be 16 to 512 printable ASCII/],
    [{ DASHBOARD_TOKEN: 'has a space in it, sadly' }, /DASHBOARD_TOKEN/],
    [{ GRPC_TLS_CERT: '/c.pem' }, /GRPC_TLS_CERT and GRPC_TLS_KEY must be set together/],
    [{ HISTORY_SPOOL_MAX_BYTES: '1000' }, /HISTORY_SPOOL_MAX_BYTES/],
    [{ MAX_VIEWERS: '0' }, /MAX_VIEWERS/],
  ])('%o is refused, naming the variable', (env, message) => {
    expect(() => parseHubConfig([], env)).toThrow(message);
  });
});
