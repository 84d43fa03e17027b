// Bad input at the hub's HTTP side: hostile REST paths and query parameters, oversized bodies and
// URLs, bad WebSocket frames and too many viewers on /ws, and the dashboard token (bearer, login
// cookie, /ws handshake, gRPC FleetService). Every answer is a 4xx with a JSON error (or a close
// code), never a 500, and the hub keeps serving a good viewer afterwards.
import http from 'node:http';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { FleetService } from '../../proto/gen/sysmonstm/v1/fleet_pb.js';
import { FleetMirror } from '../edge/edge-clients.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';

const DASHBOARD_TOKEN = 'dashboard-token-for-tests-01';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let hub: Hub;
let guarded: Hub;
let session: SyntheticSession;
const dirs = [tempDir('hub-http'), tempDir('hub-http-guarded')];
const api = (path: string) => `http://127.0.0.1:${hub.httpPort}${path}`;
const gapi = (path: string) => `http://127.0.0.1:${guarded.httpPort}${path}`;

beforeAll(async () => {
  db = await createTestDatabase();
  const base = { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1', MAX_VIEWERS: '5' };
  hub = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[0].path }), { log: pino({ level: 'silent' }) });
  guarded = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[1].path, DASHBOARD_TOKEN }), { log: pino({ level: 'silent' }) });
  session = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'web-01');
  const t0 = Date.now() - 10_000;
  for (let seq = 1; seq <= 5; seq++) session.send(syntheticReport('web-01', seq, t0 + seq * 1000));
  await waitFor('web-01 stored', () => session.acked() === 5);
  const g = openSyntheticSession(`http://127.0.0.1:${guarded.grpcPort}`, 'web-01');
  g.send(syntheticReport('web-01', 6, Date.now())); // both hubs share the database: seqs 1..5 are held
  await waitFor('web-01 at the guarded hub', () => g.acked() === 6);
  await g.finish();
}, 60_000);

afterAll(async () => {
  await session?.finish();
  await hub?.close();
  await guarded?.close();
  await db?.drop();
  for (const d of dirs) d.remove();
});

/** POSTs `size` bytes with node:http and resolves as soon as the answer is in (the server may stop reading early). */
function postRaw(url: string, size: number, declareLength: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(size) } : {}) } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => {
      if (!/EPIPE|ECONNRESET/.test(String((err as NodeJS.ErrnoException).code))) reject(err);
      // The server stopped reading and closed: give an answer already on its way a moment to arrive.
      else setTimeout(() => resolve({ status: 0, body: 'connection closed by the server' }), 300);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('REST parameters', () => {
  it.each<[string, number, RegExp]>([
    ['/api/machines/..%2F..%2Fetc%2Fpasswd/metrics', 400, /machine id must match/],
    ['/api/machines/%3Cscript%3E/history', 400, /machine id must match/],
    ['/api/machines/%00/metrics', 400, /machine id/],
    [`/api/machines/${'a'.repeat(5000)}/metrics`, 400, /machine id/],
    ['/api/machines/web-01/history?from=-1', 400, /from must be a time/],
    ['/api/machines/web-01/history?from=1e400', 400, /from must be a time/],
    ['/api/machines/web-01/history?to=NaN', 400, /to must be a time/],
    ['/api/machines/web-01/history?from=99999999999999999999', 400, /from must be a time/],
    ['/api/machines/web-01/history?from=2000&to=1000', 400, /from must be before to/],
    ['/api/machines/web-01/history?from=0&to=200000000000000', 400, /at most 3 years/],
    ['/api/machines/web-01/history?from=0&to=999999999999999', 400, /to must be a time/],
    ['/api/machines/web-01/history?metric=constructor', 400, /unknown metric/],
    ['/api/machines/web-01/history?metric=__proto__', 400, /unknown metric/],
    ['/api/machines/web-01/history?metric=cpu_percent;DROP%20TABLE%20metrics', 400, /unknown metric/],
    ['/api/machines/web-01/history?step=5m', 400, /step must be one of/],
    ['/api/machines/web-01/recent?limit=0', 400, /limit must be an integer/],
    ['/api/machines/web-01/recent?limit=abc', 400, /limit/],
    ['/api/machines/web-01/recent?limit=1e9', 400, /limit/],
    ['/api/machines/web-01/recent?limit=-5', 400, /limit/],
    ['/api/machines/nobody/metrics', 404, /unknown machine/],
    ['/api/../../../etc/passwd', 404, /not found|no such endpoint/],
    ['/api/nothing', 404, /no such endpoint/],
  ])('GET %s → %i JSON', async (path, status, error) => {
    const res = await fetch(api(path));
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(((await res.json()) as { error: string }).error).toMatch(error);
  });

  it('repeated or unknown parameters are harmless', async () => {
    const res = await fetch(api(`/api/machines/web-01/history?metric=cpu_percent&metric=bogus&step=raw&foo=%00&from=${Date.now() - 600_000}`));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { points: unknown[] }).points.length).toBeGreaterThanOrEqual(5);
  });

  it('an oversized body is refused with 413 before it is read; an oversized URL with 431/414', async () => {
    // Declared too big: refused from the header. Streamed without a length: refused once 1 MiB has passed.
    const declared = await postRaw(api('/api/machines'), 2 * 1024 * 1024, true);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error).toMatch(/request body larger than/);
    // A route that reads its body (the login form, 4 KiB at most) answers 413 for a streamed one too.
    const streamed = await postRaw(gapi('/login'), 2 * 1024 * 1024, false);
    expect(streamed.status).toBe(413);
    // A route that takes no body does not read one: the connection is closed, nothing is buffered.
    const unread = await postRaw(api('/api/machines'), 64 * 1024 * 1024, false);
    expect([0, 404, 413]).toContain(unread.status);
    const longUrl = await fetch(api(`/api/machines?pad=${'p'.repeat(100_000)}`));
    expect([414, 431]).toContain(longUrl.status);
    expect((await fetch(api('/health'))).status).toBe(200);
  });
});

describe('WS /ws', () => {
  const open = (url: string, onMessage?: (text: string) => void) =>
    new Promise<{ ws: WebSocket } | { status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(url);
      // Attached at once: the snapshot may arrive in the same packet as the handshake.
      if (onMessage) ws.on('message', (d) => onMessage(d.toString()));
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('error', (err) => {
        if (!/Unexpected server response/.test(err.message)) reject(err);
      });
    });
  const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const wsUrl = () => `ws://127.0.0.1:${hub.httpPort}/ws`;

  it('a frame above 4 KiB closes the socket with 1009; a flood of frames with 1008', async () => {
    const big = await open(wsUrl());
    if (!('ws' in big)) throw new Error('refused');
    const bigClosed = closeCode(big.ws);
    big.ws.send('x'.repeat(10_000));
    expect(await bigClosed).toBe(1009);

    const chatty = await open(wsUrl());
    if (!('ws' in chatty)) throw new Error('refused');
    const closed = closeCode(chatty.ws);
    for (let i = 0; i < 30; i++) chatty.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, i]));
    expect(await closed).toBe(1008);
  });

  it('more than MAX_VIEWERS sockets: 503 with a JSON error', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await open(wsUrl()));
    const refused = results.filter((r): r is { status: number; body: string } => 'status' in r);
    expect(refused).toHaveLength(1);
    expect(refused[0].status).toBe(503);
    expect(JSON.parse(refused[0].body).error).toMatch(/too many viewers \(at most 5\)/);
    for (const r of results) if ('ws' in r) r.ws.terminate();
    await new Promise((r) => setTimeout(r, 200));
  });

  it('a good viewer still gets the snapshot and deltas', async () => {
    const mirror = new FleetMirror();
    const good = await open(wsUrl(), (text) => mirror.apply(text));
    if (!('ws' in good)) throw new Error(`refused: ${JSON.stringify(good)}`);
    await waitFor('web-01 in the snapshot', () => mirror.has('web-01'));
    session.send(syntheticReport('web-01', 7, Date.now(), 77));
    await waitFor('the delta', () => mirror.get('web-01')?.values.cpu_percent === 77);
    good.ws.terminate();
  });
});

describe('DASHBOARD_TOKEN', () => {
  it('/health and /ready stay open; the API needs the token: 401 JSON with WWW-Authenticate', async () => {
    expect((await fetch(gapi('/health'))).status).toBe(200);
    expect((await fetch(gapi('/ready'))).status).toBe(200);
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: DASHBOARD_TOKEN }, { cookie: `sysmonstm_session=${DASHBOARD_TOKEN}` }] as Array<Record<string, string>>) {
      const res = await fetch(gapi('/api/machines'), { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as { error: string }).error).toMatch(/authentication required/);
    }
    const ok = await fetch(gapi('/api/machines'), { headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Array<{ id: string }>).map((m) => m.id)).toEqual(['web-01']);
  });

  it('a browser is sent to /login; the right token sets an HttpOnly cookie that opens the API and /ws', async () => {
    const page = await fetch(gapi('/'), { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    const form = await fetch(gapi('/login'));
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="token"');
    const wrong = await fetch(gapi('/login'), { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const huge = await fetch(gapi('/login'), { method: 'POST', body: new URLSearchParams({ token: 'x'.repeat(100_000) }), redirect: 'manual' });
    expect(huge.status).toBe(413);
    const login = await fetch(gapi('/login'), { method: 'POST', body: new URLSearchParams({ token: DASHBOARD_TOKEN }), redirect: 'manual' });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(DASHBOARD_TOKEN);
    const cookie = setCookie.split(';')[0];
    expect((await fetch(gapi('/api/machines'), { headers: { cookie } })).status).toBe(200);

    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${guarded.httpPort}/ws`);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => {});
    });
    expect(refused).toBe(401);
    const mirror = new FleetMirror();
    const ws = new WebSocket(`ws://127.0.0.1:${guarded.httpPort}/ws`, { headers: { cookie } });
    ws.on('message', (d) => mirror.apply(d.toString()));
    await waitFor('the snapshot over an authenticated socket', () => mirror.has('web-01'));
    ws.terminate();
  });

  it('gRPC FleetService needs the token too', async () => {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${guarded.grpcPort}` });
    const client = createClient(FleetService, transport);
    await expect(client.listMachines({})).rejects.toThrow(/DASHBOARD_TOKEN/);
    const list = await client.listMachines({}, { headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` } });
    expect(list.machines.map((m) => m.id)).toEqual(['web-01']);
  });
});
