// Redis down under a running hub (a private redis-server killed with SIGKILL, later SIGTERM): reports
// keep being acked and stored in history, /api/machines and the /ws live view keep moving on memory
// state; when Redis is back (empty: no persistence) the hub writes the current state back into it.
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { FleetMirror } from '../edge/edge-clients.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-servers.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';

let redisServer: PrivateRedis;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let hub: Hub;
let session: SyntheticSession;
let viewer: WebSocket;
const mirror = new FleetMirror();
const dir = tempDir('redis-fallback');
const PREFIX = 'rf:';
let seq = 0;
const t0 = Date.now() - 120_000;

async function send(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    seq++;
    session.send(syntheticReport('rf-1', seq, t0 + seq * 100, seq % 90));
  }
  const target = seq;
  await waitFor(`ack of ${target}`, () => session.acked() >= target, 10_000, 20);
}

async function redisRecord(): Promise<{ lastSeq: number } | undefined> {
  const r = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    const raw = await r.hget(`${PREFIX}machine:rf-1`, 'record');
    return raw ? (JSON.parse(raw) as { lastSeq: number }) : undefined;
  } finally {
    r.disconnect();
  }
}

const apiLastSeq = async () => {
  const list = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines`)).json()) as Array<{ id: string; lastSeq: number }>;
  return list.find((m) => m.id === 'rf-1')?.lastSeq;
};
const stats = () => hub.stats() as { redis: { degraded: boolean; resyncs: number; resyncedMachines: number } };

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const config = parseHubConfig([], {
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    DATA_DIR: dir.path,
    REDIS_URL: redisServer.url,
    TIMESCALE_URL: db.url,
    HISTORY_FLUSH_INTERVAL: '0.05',
    LIVE_PUSH_INTERVAL: '0.1',
  });
  hub = await startHub(config, { log: pino({ level: 'silent' }), redisPrefix: PREFIX });
  session = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'rf-1');
  viewer = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws`);
  viewer.on('message', (data) => mirror.apply(data.toString()));
  await new Promise((resolve) => viewer.once('open', resolve));
});

afterAll(async () => {
  viewer?.terminate();
  await session?.finish().catch(() => {});
  await hub?.close();
  await pool?.end();
  await db?.drop();
  await redisServer?.remove();
  dir.remove();
});

describe('Redis down under a running hub', () => {
  test.each(['SIGKILL', 'SIGTERM'] as const)('%s: ingest, history and the live view go on; Redis is resynced when back', async (signal) => {
    await send(20);
    await waitFor('the record in Redis', async () => (await redisRecord())?.lastSeq === seq);

    await redisServer.kill(signal);
    const before = seq;
    for (let round = 0; round < 5; round++) {
      await send(8); // acked: history does not need Redis
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stats().redis.degraded).toBe(true);
    await waitFor('the REST view from memory', async () => (await apiLastSeq()) === seq, 5_000);
    await waitFor('the live view from local events', () => mirror.get('rf-1')?.values.cpu_percent === seq % 90, 5_000);
    expect(seq).toBe(before + 40);

    const resyncsBefore = stats().redis.resyncs;
    await redisServer.start(); // empty: no persistence
    await waitFor('the resync into the restarted Redis', async () => (await redisRecord())?.lastSeq === seq, 15_000);
    expect(stats().redis.resyncs).toBeGreaterThan(resyncsBefore);
    await waitFor('Redis in use again', () => !stats().redis.degraded, 5_000);
    await send(5);
    await waitFor('new reports in Redis', async () => (await redisRecord())?.lastSeq === seq, 5_000);
    const ring = await (async () => {
      const r = new Redis(redisServer.url);
      try {
        return await r.llen(`${PREFIX}recent:rf-1`);
      } finally {
        r.disconnect();
      }
    })();
    expect(ring).toBeGreaterThan(40); // the points of the outage came back with the resync

    const { rows } = await pool.query<{ n: string; d: string; lo: string; hi: string }>(
      "SELECT count(*) n, count(DISTINCT seq) d, min(seq) lo, max(seq) hi FROM metrics WHERE machine_id = 'rf-1'",
    );
    expect(rows[0]).toEqual({ n: String(seq), d: String(seq), lo: '1', hi: String(seq) });
  }, 60_000);
});
