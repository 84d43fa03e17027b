// Forgetting machines on a real hub, with current state in memory and in Redis (127.0.0.1:6379, a
// unique prefix): DELETE /api/machines/{id} needs the admin token, answers 404 for an unknown machine
// and 204 on success; the machine leaves /api/machines, /ws (a removal in the next delta) and Redis,
// its firing offline alert is removed without a notification, its history stays, and its
// MAX_MACHINES slot is free again. FORGET_OFFLINE_AFTER (2 s here) forgets a silent machine by itself
// while one that keeps reporting stays. With two hubs on one Redis, a machine forgotten on one leaves
// the other's REST and /ws too (its memory copy is not resynced back).
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { IngestService, StreamRequestSchema, type StreamRequest } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { FleetMirror } from '../edge/edge-clients.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-servers.ts';
import { createTestDatabase, REDIS_URL, redisPrefix, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';

const ADMIN = 'admin-token-for-forget-tests-01';

/** One Stream: Hello, `count` reports, end. Resolves with the status the hub ended it with. */
async function report(target: Hub, machine: string, count = 2): Promise<string> {
  const client = createClient(IngestService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${target.grpcPort}` }));
  async function* requests(): AsyncGenerator<StreamRequest> {
    yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: machine, hostname: `${machine}.local`, displayName: machine } } });
    for (let seq = 1; seq <= count; seq++) yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machine, seq, Date.now()) } });
  }
  try {
    for await (const _ of client.stream(requests(), { timeoutMs: 20_000 }));
    return 'OK';
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
}

async function api(target: Hub, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${target.httpPort}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const machineIds = async (target: Hub) => ((await api(target, 'GET', '/api/machines')).body as { id: string }[]).map((m) => m.id).sort();
const bearer = { authorization: `Bearer ${ADMIN}` };

describe.each(['memory', 'redis'] as const)('forgetting machines, state in %s', (kind) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sweepDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let hub: Hub;
  let sweepHub: Hub;
  let receiver: HttpReceiver;
  let viewer: WebSocket;
  const mirror = new FleetMirror();
  const dir = tempDir(`forget-${kind}`);
  const sweepDir = tempDir(`forget-sweep-${kind}`);
  const keys = redisPrefix();
  const sweepKeys = redisPrefix();

  beforeAll(async () => {
    [db, sweepDb, receiver] = await Promise.all([createTestDatabase(), createTestDatabase(), startHttpReceiver()]);
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
    const base = { HTTP_PORT: '0', GRPC_PORT: '0', HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1', ...(kind === 'redis' ? { REDIS_URL } : {}) };
    hub = await startHub(
      parseHubConfig([], { ...base, DATA_DIR: dir.path, TIMESCALE_URL: db.url, MAX_MACHINES: '2', ADMIN_TOKEN: ADMIN, ALERT_TICK_INTERVAL: '0.2', NOTIFY_ALLOW_PRIVATE: '1' }),
      { log: pino({ level: 'silent' }), redisPrefix: keys.prefix },
    );
    sweepHub = await startHub(parseHubConfig([], { ...base, DATA_DIR: sweepDir.path, TIMESCALE_URL: sweepDb.url, FORGET_OFFLINE_AFTER: '2' }), {
      log: pino({ level: 'silent' }),
      redisPrefix: sweepKeys.prefix,
    });
    expect(hub.stateKind).toBe(kind);
    viewer = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws`);
    viewer.on('message', (data) => mirror.apply(data.toString()));
    await new Promise((resolve) => viewer.once('open', resolve));
  }, 60_000);

  afterAll(async () => {
    viewer?.terminate();
    await hub?.close();
    await sweepHub?.close();
    await keys.cleanup();
    await sweepKeys.cleanup();
    await pool?.end();
    await db?.drop();
    await sweepDb?.drop();
    await receiver?.close();
    dir.remove();
    sweepDir.remove();
  });

  test('DELETE /api/machines/{id}: refused without the admin token, 404 unknown, 204 forgets; the slot is free again', async () => {
    const rule = { id: 'fg-offline', name: 'Gone', metric: 'offline', threshold: 1, clear_threshold: 1, for_s: 0, severity: 'warning', repeat_s: 0, channels: [{ type: 'webhook', url: `${receiver.url}/offline` }] };
    expect((await api(hub, 'POST', '/api/rules', bearer, rule)).status).toBe(201);
    expect(await report(hub, 'fg-a')).toBe('OK');
    expect(await report(hub, 'fg-b')).toBe('OK');
    await waitFor('both machines listed', async () => (await machineIds(hub)).length === 2);
    // MAX_MACHINES=2: a third machine is locked out.
    expect(await report(hub, 'fg-c')).toBe('ResourceExhausted');
    await waitFor('fg-a in the live view', () => mirror.has('fg-a'));
    // Silent for over a second: the offline alert fires and notifies once.
    await waitFor('the offline alert firing', async () =>
      ((await api(hub, 'GET', '/api/alerts')).body as { machine: string; state: string }[]).some((a) => a.machine === 'fg-a' && a.state === 'firing'),
    );
    await waitFor('its notification', () => receiver.requests.some((r) => r.body.includes('"fg-a"')));

    // Refused: no token, a wrong one, another site's page.
    const noToken = await api(hub, 'DELETE', '/api/machines/fg-a');
    expect(noToken.status).toBe(401);
    expect((await api(hub, 'DELETE', '/api/machines/fg-a', { authorization: 'Bearer not-the-admin-token-at-all' })).status).toBe(401);
    expect((await api(hub, 'DELETE', '/api/machines/fg-a', { ...bearer, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await machineIds(hub)).toEqual(['fg-a', 'fg-b']);
    expect((await api(hub, 'DELETE', '/api/machines/no-such-machine', bearer)).status).toBe(404);

    const notified = receiver.requests.length;
    const forgotten = await api(hub, 'DELETE', '/api/machines/fg-a', bearer);
    expect(forgotten.status).toBe(204);
    expect(await machineIds(hub)).toEqual(['fg-b']);
    expect((await api(hub, 'GET', '/api/machines/fg-a/metrics')).status).toBe(404);
    await waitFor('fg-a removed from /ws', () => !mirror.has('fg-a'), 5_000);
    expect(mirror.has('fg-b')).toBe(true);
    // Its alert is gone, recorded as removed; no notification for it.
    const active = (await api(hub, 'GET', '/api/alerts')).body as { machine: string }[];
    expect(active.filter((a) => a.machine === 'fg-a')).toEqual([]);
    const events = (await api(hub, 'GET', '/api/alerts/history?machine=fg-a')).body as { state: string; detail: string | null }[];
    expect(events.map((e) => [e.state, e.detail])).toContainEqual(['removed', 'machine forgotten']);
    if (kind === 'redis') {
      const redis = new Redis(REDIS_URL);
      try {
        expect(await redis.exists(`${keys.prefix}machine:fg-a`, `${keys.prefix}recent:fg-a`)).toBe(0);
        expect(await redis.sismember(`${keys.prefix}machines`, 'fg-a')).toBe(0);
      } finally {
        redis.disconnect();
      }
    }
    // History stays.
    const rows = await pool.query<{ n: string }>("SELECT count(*) AS n FROM metrics WHERE machine_id = 'fg-a'");
    expect(Number(rows.rows[0].n)).toBe(2);
    // A second DELETE: unknown now.
    expect((await api(hub, 'DELETE', '/api/machines/fg-a', bearer)).status).toBe(404);

    // The slot is free: the third machine gets in.
    expect(await report(hub, 'fg-c')).toBe('OK');
    await waitFor('fg-c listed', async () => (await machineIds(hub)).includes('fg-c'));
    // The forgotten machine is a new one again: with fg-b and fg-c the hub is full.
    expect(await report(hub, 'fg-a')).toBe('ResourceExhausted');
    expect(await machineIds(hub)).toEqual(['fg-b', 'fg-c']);
    await new Promise((r) => setTimeout(r, 600)); // several alert ticks
    expect(receiver.requests.slice(notified).filter((r) => r.body.includes('"fg-a"'))).toEqual([]);
  }, 60_000);

  test('FORGET_OFFLINE_AFTER forgets a machine silent longer than that; one that keeps reporting stays', async () => {
    const url = `http://127.0.0.1:${sweepHub.grpcPort}`;
    const live = openSyntheticSession(url, 'sw-live');
    let seq = 0;
    const send = () => live.send(syntheticReport('sw-live', ++seq, Date.now()));
    send();
    const ticker = setInterval(send, 300);
    try {
      expect(await report(sweepHub, 'sw-silent', 1)).toBe('OK');
      await waitFor('both listed', async () => (await machineIds(sweepHub)).length === 2);
      const startedMs = Date.now();
      await waitFor('sw-silent forgotten', async () => !(await machineIds(sweepHub)).includes('sw-silent'), 10_000);
      expect(Date.now() - startedMs).toBeGreaterThan(1_000);
      expect(await machineIds(sweepHub)).toEqual(['sw-live']);
      // Its record is gone, not hidden: DELETE finds nothing (and loopback may delete without ADMIN_TOKEN).
      expect((await api(sweepHub, 'DELETE', '/api/machines/sw-silent')).status).toBe(404);
      if (kind === 'redis') {
        const redis = new Redis(REDIS_URL);
        try {
          expect(await redis.smembers(`${sweepKeys.prefix}machines`)).toEqual(['sw-live']);
        } finally {
          redis.disconnect();
        }
      }
    } finally {
      clearInterval(ticker);
      await live.finish().catch(() => {});
    }
  }, 30_000);
});

describe('forgetting on one of two hubs sharing Redis', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const hubs: Hub[] = [];
  const dirs = [tempDir('forget-replica-a'), tempDir('forget-replica-b')];
  const keys = redisPrefix();
  let viewer: WebSocket;
  const mirror = new FleetMirror();

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const dir of dirs) {
      hubs.push(
        await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1', REDIS_URL, DATA_DIR: dir.path, TIMESCALE_URL: db.url, ADMIN_TOKEN: ADMIN }), {
          log: pino({ level: 'silent' }),
          redisPrefix: keys.prefix,
        }),
      );
    }
    viewer = new WebSocket(`ws://127.0.0.1:${hubs[1].httpPort}/ws`);
    viewer.on('message', (data) => mirror.apply(data.toString()));
    await new Promise((resolve) => viewer.once('open', resolve));
  }, 60_000);

  afterAll(async () => {
    viewer?.terminate();
    for (const hub of hubs) await hub.close();
    await keys.cleanup();
    await db?.drop();
    for (const dir of dirs) dir.remove();
  });

  test('a machine that reported to hub B, forgotten on hub A, leaves B’s REST and /ws too and is not resynced back', async () => {
    const [a, b] = hubs;
    expect(await report(b, 'rp-1')).toBe('OK');
    expect(await report(b, 'rp-2')).toBe('OK');
    await waitFor('listed on A', async () => (await machineIds(a)).length === 2);
    await waitFor('in B’s live view', () => mirror.has('rp-1'));
    expect((await api(a, 'DELETE', '/api/machines/rp-1', bearer)).status).toBe(204);
    await waitFor('gone from B’s /ws', () => !mirror.has('rp-1'), 5_000);
    await waitFor('gone from B’s REST (its memory copy too)', async () => (await machineIds(b)).join() === 'rp-2', 5_000);
    expect(await machineIds(a)).toEqual(['rp-2']);
    expect((await api(b, 'DELETE', '/api/machines/rp-1', bearer)).status).toBe(404);
  }, 30_000);
});

describe('forgetting while Redis is down', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  const hubs: Hub[] = [];
  const dirs = [tempDir('forget-outage-a'), tempDir('forget-outage-b')];
  let viewer: WebSocket;
  const mirror = new FleetMirror();

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis()]);
    for (const dir of dirs) {
      hubs.push(
        await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1', REDIS_URL: redis.url, DATA_DIR: dir.path, TIMESCALE_URL: db.url, ADMIN_TOKEN: ADMIN }), {
          log: pino({ level: 'silent' }),
        }),
      );
    }
    viewer = new WebSocket(`ws://127.0.0.1:${hubs[0].httpPort}/ws`);
    viewer.on('message', (data) => mirror.apply(data.toString()));
    await new Promise((resolve) => viewer.once('open', resolve));
  }, 60_000);

  afterAll(async () => {
    viewer?.terminate();
    if (!redis.running) await redis.start();
    for (const hub of hubs) await hub.close();
    await redis?.remove();
    await db?.drop();
    for (const dir of dirs) dir.remove();
  }, 60_000);

  test('503 and nothing changed while Redis is away; once it is back the forget is whole on both hubs', async () => {
    const [a, b] = hubs;
    expect(await report(b, 'ro-1')).toBe('OK');
    expect(await report(b, 'ro-2')).toBe('OK');
    await waitFor('both in A’s live view', () => mirror.has('ro-1') && mirror.has('ro-2'));
    await redis.kill('SIGKILL');
    // The alert state lives in Redis: the forget is refused before anything changes (not a 500, and not
    // half done — B's memory copy and the other hubs' views stay as they are).
    const refused = await api(b, 'DELETE', '/api/machines/ro-1', bearer);
    expect(refused).toEqual({ status: 503, body: { error: 'Redis is unavailable; try again' } });
    expect(await machineIds(b)).toEqual(['ro-1', 'ro-2']);
    expect(mirror.has('ro-1')).toBe(true);
    // Redis back (empty): B resyncs what it holds; the forget then works and reaches A.
    await redis.start();
    await waitFor('ro-1 back in Redis (A lists it)', async () => (await machineIds(a)).join() === 'ro-1,ro-2', 30_000, 200);
    await waitFor('the forget accepted', async () => (await api(b, 'DELETE', '/api/machines/ro-1', bearer)).status === 204, 30_000, 500);
    await waitFor('ro-1 gone from A’s /ws', () => !mirror.has('ro-1'), 10_000, 100);
    await waitFor('A’s REST lists ro-2 only', async () => (await machineIds(a)).join() === 'ro-2', 10_000, 200);
    expect(await machineIds(b)).toEqual(['ro-2']);
    expect(mirror.has('ro-2')).toBe(true);
  }, 90_000);
});
