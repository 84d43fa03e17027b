// Optional protection of the hub's dashboard, REST read API and WS /ws: with DASHBOARD_TOKEN set, a
// request needs `Authorization: Bearer <token>` (scripts, Prometheus) or the session cookie a browser
// gets from the login form at /login (HttpOnly, SameSite=Strict, Secure behind https). /health,
// /ready and the login page itself stay open. Unset (the default), the dashboard is only protected by
// binding to 127.0.0.1 (HTTP_HOST).
//
// The cookie holds an HMAC of a fixed label keyed with the token, never the token: changing the token
// ends every session. Comparisons are constant-time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { bearerToken, tokensEqual } from '../collector-auth.ts';

export const SESSION_COOKIE = 'sysmonstm_session';
const SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;
/** Paths that never need the token: liveness/readiness probes and the login form. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/login', '/logout', '/favicon.svg']);

export interface RequestCredentials {
  authorization?: string | null;
  cookie?: string | null;
}

export interface DashboardAuth {
  /** True when the request carries an accepted bearer token or a valid session cookie. */
  allows(credentials: RequestCredentials): boolean;
  /** True when `presented` is the dashboard token (the login form). */
  isToken(presented: string): boolean;
  /** Set-Cookie value for a new session. */
  sessionCookie(secure: boolean): string;
}

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * `token` is DASHBOARD_TOKEN; `alsoAcceptBearer` lists other tokens that may read the API with a bearer
 * header (e.g. the admin token, so an admin call is not refused by this gate before its own check).
 */
export function createDashboardAuth(token: string, options: { alsoAcceptBearer?: readonly string[] } = {}): DashboardAuth {
  const bearers = [token, ...(options.alsoAcceptBearer ?? []).filter((t) => t.length > 0)];
  const session = createHmac('sha256', token).update('sysmonstm dashboard session v1').digest('hex');
  const sessionBytes = Buffer.from(session, 'utf8');
  return {
    allows({ authorization, cookie }) {
      const presented = bearerToken(authorization);
      if (presented !== null) {
        let ok = false;
        for (const accepted of bearers) ok = tokensEqual(presented, accepted) || ok; // no early exit
        if (ok) return true;
      }
      const value = readCookie(cookie, SESSION_COOKIE);
      if (value === undefined) return false;
      const bytes = Buffer.from(value, 'utf8');
      return bytes.length === sessionBytes.length && timingSafeEqual(bytes, sessionBytes);
    },
    isToken: (presented) => tokensEqual(presented, token),
    sessionCookie: (secure) =>
      `${SESSION_COOKIE}=${session}; Path=/; Max-Age=${SESSION_MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function loginPage(message: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sysmonstm — sign in</title>
<style>
  body { font: 16px system-ui, sans-serif; display: grid; place-items: center; min-height: 100vh; margin: 0; background: #0f1115; color: #e6e6e6; }
  form { background: #181b22; padding: 2rem; border-radius: 8px; display: grid; gap: .75rem; min-width: 18rem; }
  input, button { font: inherit; padding: .5rem .75rem; border-radius: 4px; border: 1px solid #3a3f4b; background: #0f1115; color: inherit; }
  button { background: #2f6fed; border-color: #2f6fed; cursor: pointer; }
  p { margin: 0; color: #ff8a80; }
</style></head>
<body><form method="post" action="/login">
  <h1>sysmonstm</h1>
  <label for="token">Dashboard token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  ${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
  <button type="submit">Sign in</button>
</form></body></html>
`;
}

function isSecure(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/** Registers /login and /logout and the gate in front of every other route; call before the routes. */
export function installDashboardAuth(app: Hono, auth: DashboardAuth): void {
  app.get('/login', (c) => c.html(loginPage(undefined)));
  app.post('/login', bodyLimit({ maxSize: 4096, onError: (c) => c.html(loginPage('That is not the dashboard token.'), 413) }), async (c) => {
    let presented = '';
    try {
      const body = await c.req.parseBody();
      presented = typeof body.token === 'string' ? body.token : '';
    } catch {
      /* not a form: treated as a wrong token */
    }
    if (presented.length === 0 || presented.length > 1024 || !auth.isToken(presented)) {
      return c.html(loginPage('That is not the dashboard token.'), 401);
    }
    c.header('Set-Cookie', auth.sessionCookie(isSecure(c)));
    return c.redirect('/', 303);
  });
  app.post('/logout', (c) => {
    c.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`);
    return c.redirect('/login', 303);
  });
  app.use('*', async (c, next) => {
    if (OPEN_PATHS.has(c.req.path) || auth.allows({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') })) {
      await next();
      return;
    }
    const wantsPage = !c.req.path.startsWith('/api/') && c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
    if (wantsPage) return c.redirect('/login', 302);
    c.header('WWW-Authenticate', 'Bearer realm="sysmonstm"');
    return c.json({ error: 'authentication required: send Authorization: Bearer <DASHBOARD_TOKEN>, or sign in at /login' }, 401);
  });
}
