// Optional protection of the hub's dashboard, REST read API and WS /ws: with DASHBOARD_TOKEN set, a
// request needs `Authorization: Bearer <token>` (scripts, Prometheus) or the session cookie a browser
// gets from the login form at /login (HttpOnly, SameSite=Strict, Secure behind https). /health,
// /ready and the login page itself stay open. Unset (the default), the dashboard is only protected by
// binding to 127.0.0.1 (HTTP_HOST).
//
// The cookie holds a random session id kept on the hub (session-store.ts), never the token: signing
// out (POST /logout) ends the session, sessions expire and are bounded in number, and a restart with
// a new token ends them all. Wrong tokens — at /login or as a bearer header — are counted per client
// address (login-throttle.ts): past the allowance the address gets 429 with Retry-After before any
// token is compared. Comparisons are constant-time.
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { bearerToken, tokensEqual } from '../collector-auth.ts';
import { HttpError } from '../errors.ts';
import { peerAddress } from './alert-routes.ts';
import { createLoginThrottle, LOGIN_FAILURES_PER_MINUTE, type LoginThrottle } from './login-throttle.ts';
import { createSessionStore, SESSION_LIFETIME_MS, type SessionStore } from './session-store.ts';

export const SESSION_COOKIE = 'sysmonstm_session';
const SESSION_MAX_AGE_SECONDS = Math.floor(SESSION_LIFETIME_MS / 1000);
/** Paths that never need the token: liveness/readiness probes and the login form. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/login', '/login-theme.js', '/logout', '/favicon.svg']);

export interface RequestCredentials {
  authorization?: string | null;
  cookie?: string | null;
  /** The client's address: a wrong bearer token from it is counted, and refused while it is throttled. */
  address?: string;
}

export interface DashboardAuth {
  /** True when the request carries an accepted bearer token or a live session cookie. */
  allows(credentials: RequestCredentials): boolean;
  /** True when `presented` is the dashboard token (the login form); a wrong one from `address` is counted. */
  isToken(presented: string, address?: string): boolean;
  /** Seconds `address` must wait after too many wrong tokens, or undefined. */
  throttled(address: string | undefined): number | undefined;
  /** Set-Cookie value for a new session. */
  sessionCookie(secure: boolean): string;
  /** Ends the session named in a Cookie header (sign-out). */
  endSession(cookieHeader: string | null | undefined): void;
  readonly sessions: number;
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
export function createDashboardAuth(
  token: string,
  options: { alsoAcceptBearer?: readonly string[]; now?: () => number; sessions?: SessionStore; throttle?: LoginThrottle } = {},
): DashboardAuth {
  const now = options.now ?? Date.now;
  const bearers = [token, ...(options.alsoAcceptBearer ?? []).filter((t) => t.length > 0)];
  const sessions = options.sessions ?? createSessionStore();
  const throttle = options.throttle ?? createLoginThrottle();
  return {
    allows({ authorization, cookie, address }) {
      const value = readCookie(cookie, SESSION_COOKIE);
      if (value !== undefined && sessions.valid(value, now())) return true;
      const presented = bearerToken(authorization);
      if (presented === null) return false;
      if (address !== undefined && throttle.retryAfterSeconds(address, now()) !== undefined) return false;
      let ok = false;
      for (const accepted of bearers) ok = tokensEqual(presented, accepted) || ok; // no early exit
      if (!ok && address !== undefined) throttle.failed(address, now());
      return ok;
    },
    isToken(presented, address) {
      const ok = tokensEqual(presented, token);
      if (!ok) throttle.failed(address, now());
      return ok;
    },
    throttled: (address) => throttle.retryAfterSeconds(address, now()),
    sessionCookie: (secure) =>
      `${SESSION_COOKIE}=${sessions.create(now())}; Path=/; Max-Age=${SESSION_MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
    endSession(cookieHeader) {
      const value = readCookie(cookieHeader, SESSION_COOKIE);
      if (value !== undefined) sessions.revoke(value);
    },
    get sessions() {
      return sessions.size;
    },
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

// The login page wears the dashboard's theme (web/src/styles.css, web/src/theme.ts): the system colour
// scheme, or the light/dark choice the viewer made with the dashboard's toggle (localStorage
// "sysmonstm-theme", read by /login-theme.js — the page's CSP allows no inline script). The colours
// are the dashboard's own custom-property values; test/hub/gateway/dashboard-auth.login-page.test.ts
// compares them.
const DARK = '--bg: #0d1117; --surface: #161b22; --border: #2d3540; --text: #e6edf3; --muted: #8b98a8; --accent: #58a6ff; --focus: #79c0ff; --critical: #f85149; --on-accent: #0d1117; color-scheme: dark;';
const LIGHT = '--bg: #f6f8fa; --surface: #ffffff; --border: #d0d7de; --text: #1f2328; --muted: #59636e; --accent: #0969da; --focus: #0969da; --critical: #cf222e; --on-accent: #ffffff; color-scheme: light;';

/** Served at /login-theme.js: applies the stored choice and lets the login page's toggle change it. */
export const LOGIN_THEME_SCRIPT = `(() => {
  const KEY = 'sysmonstm-theme';
  const root = document.documentElement;
  const system = () => (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
  let stored;
  try { stored = localStorage.getItem(KEY); } catch { stored = null; }
  if (stored === 'light' || stored === 'dark') root.dataset.theme = stored;
  const current = () => root.dataset.theme || system();
  const label = (button) => {
    const next = current() === 'dark' ? 'light' : 'dark';
    button.textContent = next === 'light' ? 'Light theme' : 'Dark theme';
    button.setAttribute('aria-label', 'Switch to ' + next + ' theme');
  };
  addEventListener('DOMContentLoaded', () => {
    const button = document.getElementById('theme-toggle');
    if (!button) return;
    button.hidden = false;
    label(button);
    matchMedia('(prefers-color-scheme: light)').addEventListener('change', () => label(button));
    button.addEventListener('click', () => {
      const next = current() === 'dark' ? 'light' : 'dark';
      root.dataset.theme = next;
      try { localStorage.setItem(KEY, next); } catch {}
      label(button);
    });
  });
})();
`;

function loginPage(message: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>sysmonstm — sign in</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<script src="/login-theme.js"></script>
<style>
  :root { ${DARK} }
  @media (prefers-color-scheme: light) { :root:not([data-theme]) { ${LIGHT} } }
  :root[data-theme='light'] { ${LIGHT} }
  :root[data-theme='dark'] { ${DARK} }
  body { font: 16px system-ui, sans-serif; display: grid; place-items: center; min-height: 100vh; margin: 0; padding: 1rem; box-sizing: border-box; background: var(--bg); color: var(--text); }
  form { background: var(--surface); border: 1px solid var(--border); padding: 2rem; border-radius: 10px; display: grid; gap: .75rem; width: min(22rem, 100%); box-sizing: border-box; }
  h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
  label { color: var(--muted); }
  input, button { font: inherit; padding: .5rem .75rem; border-radius: 6px; border: 1px solid var(--border); background: var(--bg); color: inherit; }
  input:focus-visible, button:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
  button[type=submit] { background: var(--accent); border-color: var(--accent); color: var(--on-accent); font-weight: 600; cursor: pointer; }
  #theme-toggle { position: fixed; top: .75rem; right: .75rem; background: var(--surface); color: var(--muted); font-size: .85rem; padding: .3rem .6rem; cursor: pointer; }
  p { margin: 0; color: var(--critical); }
</style></head>
<body><button id="theme-toggle" type="button" hidden></button>
<form method="post" action="/login">
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
  app.get('/login-theme.js', (c) => c.body(LOGIN_THEME_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }));
  /** Why the client's address must wait after too many wrong tokens (Retry-After set), or undefined. */
  const throttledMessage = (c: Context) => {
    const wait = auth.throttled(peerAddress(c));
    if (wait === undefined) return undefined;
    c.header('Retry-After', String(wait));
    return `Too many wrong dashboard tokens from your address (at most ${LOGIN_FAILURES_PER_MINUTE} a minute): try again in ${wait} s.`;
  };
  app.post('/login', bodyLimit({ maxSize: 4096, onError: (c) => c.html(loginPage('That is not the dashboard token.'), 413) }), async (c) => {
    const wait = throttledMessage(c);
    if (wait) return c.html(loginPage(wait), 429);
    let presented = '';
    try {
      const body = await c.req.parseBody();
      presented = typeof body.token === 'string' ? body.token : '';
    } catch {
      /* not a form: treated as a wrong token */
    }
    if (presented.length === 0 || presented.length > 1024 || !auth.isToken(presented, peerAddress(c))) {
      return c.html(loginPage('That is not the dashboard token.'), 401);
    }
    c.header('Set-Cookie', auth.sessionCookie(isSecure(c)));
    return c.redirect('/', 303);
  });
  app.post('/logout', (c) => {
    auth.endSession(c.req.header('cookie'));
    c.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`);
    return c.redirect('/login', 303);
  });
  app.use('*', async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) {
      await next();
      return;
    }
    const authorization = c.req.header('authorization');
    const hasSession = auth.allows({ cookie: c.req.header('cookie') });
    if (!hasSession && bearerToken(authorization) !== null) {
      const wait = throttledMessage(c);
      if (wait) throw new HttpError(429, wait);
    }
    if (hasSession || auth.allows({ authorization, address: peerAddress(c) })) {
      await next();
      return;
    }
    const wantsPage = !c.req.path.startsWith('/api/') && c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
    if (wantsPage) return c.redirect('/login', 302);
    c.header('WWW-Authenticate', 'Bearer realm="sysmonstm"');
    return c.json({ error: 'authentication required: send Authorization: Bearer <DASHBOARD_TOKEN>, or sign in at /login' }, 401);
  });
}
