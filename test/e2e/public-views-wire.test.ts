// Public views on the wire, end to end: collectors (synthetic reports over real gRPC) → the real hub (views made
// through its REST API, stored in PostgreSQL) → the real Worker under `wrangler dev` (one FleetRelay
// per view) → viewers on /v/{slug}/ws. A transparent WebSocket proxy between hub and Worker keeps
// every byte the hub sends, per view. Two views with different selectors and shown fields; hidden
// hostnames, label values and machine ids are absent from every byte on both legs; link access is
// refused without the secret and cut off after rotation; deleting a view disconnects its viewers.
// (10,000 machines are driven in test/hub/edge/edge-views.test.ts against a capturing relay and in
// test/edge/views.test.ts against the Worker; not repeated here.)
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { handshakeStatus, TestViewer, waitFor } from '../edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../edge/wrangler-dev.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';

const ADMIN = 'admin-token-views-chain-0123456';
const dir = tempDir('views-chain');
let dev: WranglerDev;
let hub: Hub;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: WebSocketServer;
/** Every frame the hub sent towards the Worker, by view slug. */
const sent = new Map<string, string[]>();
const sessions: SyntheticSession[] = [];
const viewers: TestViewer[] = [];
const admin = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
let api: string;

const MACHINES = [
  { id: 'chain-secret-a', labels: { env: 'prod', rack: 'rack-secret-a' } },
  { id: 'chain-secret-b', labels: { env: 'prod', rack: 'rack-secret-b' } },
  { id: 'chain-secret-c', labels: { env: 'dev', rack: 'rack-secret-c' } },
];

function startProxy(target: string): Promise<number> {
  proxy = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
  proxy.on('connection', (down, req) => {
    const slug = new URL(req.url ?? '/', 'http://x').searchParams.get('view') ?? 'default';
    const log = sent.get(slug) ?? [];
    sent.set(slug, log);
    const up = new WebSocket(`${target}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } });
    const queue: string[] = [];
    down.on('message', (d) => {
      const text = d.toString();
      log.push(text);
      if (up.readyState === WebSocket.OPEN) up.send(text);
      else queue.push(text);
    });
    up.on('open', () => {
      for (const t of queue.splice(0)) up.send(t);
    });
    up.on('message', (d) => down.readyState === WebSocket.OPEN && down.send(d.toString()));
    up.on('close', (code) => down.readyState === WebSocket.OPEN && down.close(code === 1005 || code === 1006 ? 1000 : code));
    up.on('error', () => down.terminate());
    // The hub may close right after its last frame (a revocation): deliver what is queued first.
    down.on('close', (code) => {
      const finish = () => up.close(code === 1005 ? 1000 : code);
      if (up.readyState === WebSocket.OPEN) finish();
      else if (up.readyState === WebSocket.CONNECTING) up.once('open', finish);
    });
  });
  return new Promise((r) => proxy.once('listening', () => r((proxy.address() as AddressInfo).port)));
}

async function viewer(path: string): Promise<TestViewer> {
  const url = `ws://127.0.0.1:${dev.port}${path}`;
  // A view made a moment ago exists at the Worker once its config frame has arrived.
  await waitFor(`${path} served`, async () => (await handshakeStatus(url)) === 101, 10_000);
  const v = await TestViewer.open(url);
  viewers.push(v);
  return v;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dev = await startWranglerDev();
  const proxyPort = await startProxy(new URL(dev.ingestUrl).origin);
  const config = parseHubConfig([], {
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    DATA_DIR: dir.path,
    TIMESCALE_URL: db.url,
    EDGE_URL: `ws://127.0.0.1:${proxyPort}/ingest`,
    EDGE_API_KEY: dev.hubToken,
    EDGE_PUSH_INTERVAL: '0.1',
    ADMIN_TOKEN: ADMIN,
  });
  hub = await startHub(config, { log: pino({ level: 'silent' }), dbMaxConnections: 2 });
  api = `http://127.0.0.1:${hub.httpPort}/api/public-views`;
  for (const m of MACHINES) {
    const s = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, m.id);
    const r = syntheticReport(m.id, 1, Date.now());
    r.hostname = `${m.id}.corp.internal`;
    r.displayName = '';
    r.labels = m.labels;
    s.send(r);
    sessions.push(s);
  }
}, 180_000);

afterAll(async () => {
  for (const v of viewers) v.close();
  for (const s of sessions) await s.finish().catch(() => {});
  await hub?.close();
  await new Promise((r) => proxy?.close(r));
  await dev?.stop();
  await db?.drop();
  dir.remove();
});

describe('public views: hub → Worker → viewers', () => {
  let opsSecret = '';

  it('two views with different selectors and shown fields; hidden values absent from every byte, both legs', async () => {
    expect((await fetch(`${api}/status`, { method: 'PUT', headers: admin, body: JSON.stringify({ title: 'Status', machines: 'all' }) })).status).toBe(201);
    const ops = await fetch(`${api}/ops`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ title: 'Ops', machines: { labels: { env: 'prod' } }, show: { id: true, hostname: true, labels: true, metrics: ['cpu_percent'] }, access: 'link' }),
    });
    opsSecret = ((await ops.json()) as { secret: string }).secret;

    const status = await viewer('/v/status/ws');
    await waitFor('the status view with all three machines', () => status.fleet.size === 3, 20_000);
    const opsViewer = await viewer(`/v/ops/ws?key=${opsSecret}`);
    await waitFor('the ops view with the two prod machines', () => opsViewer.fleet.size === 2, 20_000);

    expect([...opsViewer.fleet.keys()].sort()).toEqual(['chain-secret-a', 'chain-secret-b']);
    expect(opsViewer.fleet.get('chain-secret-a')).toMatchObject({ host: 'chain-secret-a.corp.internal', labels: { env: 'prod', rack: 'rack-secret-a' } });
    expect(Object.keys(opsViewer.fleet.get('chain-secret-a')!.values)).toEqual(['cpu_percent']);
    for (const m of status.fleet.values()) expect(m).toMatchObject({ id: expect.stringMatching(/^m[0-9a-f]{16}$/), host: '', labels: {}, name: `Machine ${m.id.slice(0, 6)}` });

    const statusBytes = [...(sent.get('status') ?? []), ...status.raw].join('\n');
    expect(sent.get('status')!.length).toBeGreaterThan(1);
    for (const hidden of ['chain-secret', 'corp.internal', 'rack-secret', '"prod"', '"dev"']) expect(statusBytes).not.toContain(hidden);
    const opsBytes = [...(sent.get('ops') ?? []), ...opsViewer.raw].join('\n');
    for (const hidden of ['chain-secret-c', 'rack-secret-c', opsSecret]) expect(opsBytes).not.toContain(hidden);
  }, 60_000);

  it('link access: refused without or with a wrong key, cut off after rotation', async () => {
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/ops/ws`)).toBe(404);
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/ops/ws?key=wrong-${opsSecret}`)).toBe(404);
    expect((await fetch(`http://127.0.0.1:${dev.port}/v/ops/api/machines`)).status).toBe(404);
    const old = await viewer(`/v/ops/ws?key=${opsSecret}`);
    await waitFor('old-key viewer live', () => old.fleet.size === 2, 10_000);
    const rotated = (await (await fetch(`${api}/ops/rotate-key`, { method: 'POST', headers: admin })).json()) as { secret: string };
    await waitFor('old-key viewer cut off', () => old.closed(), 15_000);
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/ops/ws?key=${opsSecret}`)).toBe(404);
    const fresh = await viewer(`/v/ops/ws?key=${rotated.secret}`);
    await waitFor('new-key viewer live', () => fresh.fleet.size === 2, 10_000);
    opsSecret = rotated.secret;
  }, 60_000);

  it('deleting a view disconnects its viewers and the Worker answers 404 after; the other view lives on', async () => {
    const opsViewer = await viewer(`/v/ops/ws?key=${opsSecret}`);
    await waitFor('ops viewer live', () => opsViewer.fleet.size === 2, 10_000);
    expect((await fetch(`${api}/ops`, { method: 'DELETE', headers: admin })).status).toBe(204);
    await waitFor('ops viewer closed', () => opsViewer.closed(), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}; hub sent on ops: ${JSON.stringify(sent.get('ops')!.slice(-4).map((f) => f.slice(0, 80)))}`);
    });
    expect(opsViewer.closeCode).toBe(4404);
    expect(sent.get('ops')!.includes('{"t":"x","slug":"ops"}')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${dev.port}/v/ops/api/machines?key=${opsSecret}`)).status).toBe(404);
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/ops/ws?key=${opsSecret}`)).toBe(404);
    const status = await viewer('/v/status/ws');
    await waitFor('status still served', () => status.fleet.size === 3, 10_000);
  }, 60_000);
});
