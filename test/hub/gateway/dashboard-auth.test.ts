// hub/gateway/dashboard-auth.ts, pure: the dashboard gate (bearer, the admin token as a bearer, the
// session cookie) and reading a cookie.
import { describe, expect, it } from 'vitest';
import { createDashboardAuth, readCookie, SESSION_COOKIE } from '../../../hub/gateway/dashboard-auth.ts';

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
