// Browser-side attacks on the local dashboard, with real HTTP against real hubs: a DNS-rebinding Host,
// cross-origin writes (a bodyless dead-letter retry too) and a cross-origin /ws upgrade are refused
// while the same-origin dashboard and scripts still work; wrong dashboard tokens are throttled per
// client address (429 with Retry-After) and signing out revokes the session; one address cannot take
// every /ws viewer slot. Different client addresses come from binding sockets to 127.0.0.x.
import { existsSync } from 'node:fs';
import http from 'node:http';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ensureWebBuilt } from '../../web/build.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';
import { CHROMIUM_PATH, launchBrowser, openGuardedPage } from '../support/dashboard-checks.ts';

const DASHBOARD_TOKEN = 'dashboard-token-browser-01';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let open: Hub;
let guarded: Hub;
const dirs = [tempDir('browser-open'), tempDir('browser-guarded')];

beforeAll(async () => {
  db = await createTestDatabase();
  const base = { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url, MAX_VIEWERS_PER_ADDRESS: '2', MAX_VIEWERS: '10' };
  open = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[0].path, ALLOWED_HOSTS: 'monitor.example.test' }), { log: pino({ level: 'silent' }) });
  guarded = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[1].path, DASHBOARD_TOKEN }), { log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  await db?.drop();
  for (const d of dirs) d.remove();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (Host included), optionally from another loopback address. */
function request(hub: Hub, method: string, path: string, headers: Record<string, string> = {}, body?: string, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: hub.httpPort, method, path, localAddress, headers: { host: `127.0.0.1:${hub.httpPort}`, ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens /ws; resolves with the socket, or with the refusal's status and body. */
function upgrade(hub: Hub, headers: Record<string, string> = {}, localAddress?: string): Promise<{ ws: WebSocket; first: Promise<string> } | { status: number; body: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws`, { headers, localAddress });
    const first = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    ws.once('open', () => resolve({ ws, first }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const rule = (id: string) => JSON.stringify({ id, name: id, metric: 'cpu_percent', threshold: 90 });
const json = { 'content-type': 'application/json' };
const ruleIds = async () => (JSON.parse((await request(open, 'GET', '/api/rules')).body) as Array<{ id: string }>).map((r) => r.id);

describe('Host (DNS rebinding)', () => {
  it('a request naming a host the hub does not serve is refused, reads and writes alike', async () => {
    const port = open.httpPort;
    for (const host of [`rebind.attacker.test:${port}`, 'attacker.test', `127.0.0.1.attacker.test:${port}`, 'localhost.attacker.test']) {
      const read = await request(open, 'GET', '/api/machines', { host });
      expect(read.status, host).toBe(403);
      expect(JSON.parse(read.body).error).toMatch(/does not answer to the host/);
    }
    const write = await request(open, 'POST', '/api/rules', { host: `rebind.attacker.test:${port}`, ...json }, rule('rebound'));
    expect(write.status).toBe(403);
    expect(await ruleIds()).not.toContain('rebound');
    const ws = await upgrade(open, { host: `rebind.attacker.test:${port}` });
    expect(ws).toMatchObject({ status: 403 });
  });

  it('the names the hub serves are accepted: localhost, 127.0.0.1, [::1], ALLOWED_HOSTS; probes whatever the Host', async () => {
    const port = open.httpPort;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'monitor.example.test', `monitor.example.test:${port}`]) {
      expect((await request(open, 'GET', '/api/machines', { host })).status, host).toBe(200);
    }
    expect((await request(open, 'GET', '/health', { host: 'hub-service.cluster.test:8000' })).status).toBe(200);
    expect((await request(open, 'GET', '/ready', { host: 'hub-service.cluster.test:8000' })).status).toBe(200);
  });
});

describe('Origin on state-changing requests and /ws', () => {
  it('a cross-origin POST is refused; the same origin and a script without Origin are served', async () => {
    const port = open.httpPort;
    const foreign = await request(open, 'POST', '/api/rules', { origin: 'http://attacker.test', ...json }, rule('cross-site'));
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error).toMatch(/cross-origin request refused/);
    // Another port of the same machine is another origin too; so is "null" (a sandboxed frame, file:).
    for (const origin of [`http://127.0.0.1:${port + 1}`, 'null', 'not a url']) {
      expect((await request(open, 'POST', '/api/rules', { origin, ...json }, rule('other-origin'))).status, origin).toBe(403);
    }
    // No Origin, but the browser says cross-site (Sec-Fetch-Site): refused too.
    expect((await request(open, 'POST', '/api/rules', { 'sec-fetch-site': 'cross-site', ...json }, rule('fetch-site'))).status).toBe(403);
    expect(await ruleIds()).not.toContain('cross-site');

    const same = await request(open, 'POST', '/api/rules', { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin', ...json }, rule('same-origin'));
    expect(same.status).toBe(201);
    const viaName = await request(open, 'POST', '/api/rules', { host: 'monitor.example.test', origin: 'https://monitor.example.test', ...json }, rule('behind-proxy'));
    expect(viaName.status).toBe(201);
    const script = await request(open, 'POST', '/api/rules', json, rule('from-curl'));
    expect(script.status).toBe(201);
    expect(await ruleIds()).toEqual(expect.arrayContaining(['same-origin', 'behind-proxy', 'from-curl']));
    // DELETE and PUT are checked the same way.
    expect((await request(open, 'DELETE', '/api/rules/from-curl', { origin: 'http://attacker.test' })).status).toBe(403);
    expect(await ruleIds()).toContain('from-curl');
  });

  it('a bodyless cross-site POST (dead-letter retry, what a form or an <img>-less fetch sends) is refused before it is looked at', async () => {
    const foreign = await request(open, 'POST', '/api/notifications/dead-letters/1/retry', { origin: 'http://attacker.test' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error).toMatch(/cross-origin/);
    // From the hub's own page it reaches the route (which knows no such dead letter).
    const own = await request(open, 'POST', '/api/notifications/dead-letters/1/retry', { origin: `http://127.0.0.1:${open.httpPort}` });
    expect(own.status).toBe(404);
  });

  it('a cross-origin /ws upgrade is refused; the dashboard page origin gets the snapshot', async () => {
    const foreign = await upgrade(open, { origin: 'http://attacker.test' });
    expect(foreign).toMatchObject({ status: 403 });
    expect(JSON.parse((foreign as { body: string }).body).error).toMatch(/cross-origin/);
    const own = await upgrade(open, { origin: `http://localhost:${open.httpPort}`, host: `localhost:${open.httpPort}` });
    if (!('ws' in own)) throw new Error(`refused: ${JSON.stringify(own)}`);
    expect(JSON.parse(await own.first)).toMatchObject({ t: 's' });
    own.ws.terminate();
  });
});

describe('viewer sockets per client address', () => {
  it('one address gets MAX_VIEWERS_PER_ADDRESS sockets (then 429 with Retry-After); another address still gets in', async () => {
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await upgrade(open, {}, '127.0.0.5'));
    const refused = results.filter((r): r is { status: number; body: string; retryAfter?: string } => 'status' in r);
    expect(results.filter((r) => 'ws' in r)).toHaveLength(2);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: 429, retryAfter: '10' });
    expect(JSON.parse(refused[0].body).error).toMatch(/too many open connections from your address \(at most 2\)/);
    const other = await upgrade(open, {}, '127.0.0.6');
    expect('ws' in other).toBe(true);
    // A closed socket gives its slot back.
    const first = results.find((r) => 'ws' in r) as { ws: WebSocket };
    const closed = new Promise((r) => first.ws.once('close', r));
    first.ws.close();
    await closed;
    await new Promise((r) => setTimeout(r, 100));
    const again = await upgrade(open, {}, '127.0.0.5');
    expect('ws' in again).toBe(true);
    for (const r of [...results, other, again]) if ('ws' in r) r.ws.terminate();
  });
});

describe('login', () => {
  const form = (token: string) => new URLSearchParams({ token }).toString();
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

  it('wrong tokens are throttled per address: 429 with Retry-After, even for the right token; other addresses are not affected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await request(guarded, 'POST', '/login', formHeaders, form(`wrong-token-${i}`), '127.0.0.21')).status);
    expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const blocked = await request(guarded, 'POST', '/login', formHeaders, form(DASHBOARD_TOKEN), '127.0.0.21');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(blocked.body).toMatch(/Too many wrong dashboard tokens from your address/);
    expect(blocked.headers['set-cookie']).toBeUndefined();
    const elsewhere = await request(guarded, 'POST', '/login', formHeaders, form(DASHBOARD_TOKEN), '127.0.0.22');
    expect(elsewhere.status).toBe(303);
  });

  it('wrong bearer tokens count too (REST and the /ws handshake)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await request(guarded, 'GET', '/api/machines', { authorization: `Bearer wrong-bearer-token-${i}` }, undefined, '127.0.0.23')).status);
    expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(401));
    const limited = await request(guarded, 'GET', '/api/machines', { authorization: `Bearer ${DASHBOARD_TOKEN}` }, undefined, '127.0.0.23');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(JSON.parse(limited.body).error).toMatch(/too many wrong dashboard tokens/i);
    expect(await upgrade(guarded, { authorization: `Bearer ${DASHBOARD_TOKEN}` }, '127.0.0.23')).toMatchObject({ status: 401 });
    expect((await request(guarded, 'GET', '/api/machines', { authorization: `Bearer ${DASHBOARD_TOKEN}` }, undefined, '127.0.0.24')).status).toBe(200);
  });

  it('sessions are random and revocable: signing out ends the session on the hub', async () => {
    const login = async () => {
      const res = await request(guarded, 'POST', '/login', formHeaders, form(DASHBOARD_TOKEN), '127.0.0.25');
      expect(res.status).toBe(303);
      return String(res.headers['set-cookie']).split(';')[0];
    };
    const a = await login();
    const b = await login();
    expect(a).not.toBe(b);
    expect((await request(guarded, 'GET', '/api/machines', { cookie: a })).status).toBe(200);
    const out = await request(guarded, 'POST', '/logout', { cookie: a, origin: `http://127.0.0.1:${guarded.httpPort}` });
    expect(out.status).toBe(303);
    // The old cookie, replayed after sign-out (as a copy an attacker kept would be), opens nothing.
    expect((await request(guarded, 'GET', '/api/machines', { cookie: a })).status).toBe(401);
    expect(await upgrade(guarded, { cookie: a })).toMatchObject({ status: 401 });
    // The other session is untouched.
    expect((await request(guarded, 'GET', '/api/machines', { cookie: b })).status).toBe(200);
  });

  it('a cross-site login or logout form is refused (login CSRF)', async () => {
    const res = await request(guarded, 'POST', '/login', { ...formHeaders, origin: 'http://attacker.test' }, form(DASHBOARD_TOKEN), '127.0.0.26');
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe.skipIf(!existsSync(CHROMIUM_PATH))('in a real browser (Chromium)', () => {
  it('signs in through the form, the same-origin dashboard goes live, "Sign out" ends the session on the hub', async () => {
    await ensureWebBuilt();
    const browser = await launchBrowser();
    try {
      const g = await openGuardedPage(browser, { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
      const { page, context } = g;
      const base = `http://localhost:${guarded.httpPort}`;
      await page.goto(`${base}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('#token', DASHBOARD_TOKEN);
      await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
      // The live socket (Origin = the page) is accepted and the hub mode detected.
      await expect.poll(() => page.locator('.conn-text').textContent(), { timeout: 15_000 }).toBe('Live');
      const signOut = page.locator('form.sign-out button');
      await expect.poll(() => signOut.isVisible()).toBe(true);
      const cookie = (await context.cookies()).find((c) => c.name === 'sysmonstm_session')!;
      expect(cookie.httpOnly).toBe(true);
      // Nothing went wrong while signed in (requests cut off by signing out may log a 401).
      expect(g.problems).toEqual([]);
      await Promise.all([page.waitForURL(`${base}/login`), signOut.click()]);
      // The old cookie, kept and replayed, opens nothing any more.
      expect((await request(guarded, 'GET', '/api/machines', { cookie: `sysmonstm_session=${cookie.value}` })).status).toBe(401);
      await g.close();
    } finally {
      await browser.close();
    }
  }, 60_000);
});
