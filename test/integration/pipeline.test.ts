// The pipeline end to end with real parts: collectors (the real CLI, and synthetic gRPC clients) stream
// over gRPC/HTTP2 into one hub that keeps state in the local Redis and history in the local PostgreSQL
// (plain path: no timescaledb extension there); REST, WS and the gRPC FleetService answer.
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { FleetService } from '../../proto/gen/sysmonstm/v1/fleet_pb.js';
import { createFleetReader, decodeFleetMessage } from '../../proto/delta.ts';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { createTestDatabase, redisPrefix, REDIS_URL, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';

let hub: Hub;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const redisKeys = redisPrefix();
const dir = tempDir('pipeline');
const collectors: CliProcess[] = [];
let api: string;

async function getJson(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}${path}`);
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const config = parseHubConfig([], {
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    DATA_DIR: dir.path,
    REDIS_URL,
    TIMESCALE_URL: db.url,
    HISTORY_FLUSH_INTERVAL: '0.05',
    LIVE_PUSH_INTERVAL: '0.1',
  });
  hub = await startHub(config, { log: pino({ level: 'silent' }), redisPrefix: redisKeys.prefix });
  api = `http://127.0.0.1:${hub.httpPort}`;
  for (const id of ['node-a', 'node-b']) {
    collectors.push(
      runCli(['collector', '--hub', `http://127.0.0.1:${hub.grpcPort}`, '--id', id, '--name', `Node ${id.slice(-1).toUpperCase()}`, '--interval', '0.2'], {
        DATA_DIR: `${dir.path}/${id}`,
      }),
    );
  }
});

afterAll(async () => {
  for (const c of collectors) await c.stop();
  await hub?.close();
  await pool?.end();
  await db?.drop();
  await redisKeys.cleanup();
  dir.remove();
});

describe('several collectors into one hub', () => {
  test('the machines appear in /api/machines with live values', async () => {
    const machines = await waitFor('both collectors listed', async () => {
      const { body } = await getJson('/api/machines');
      const ids = body.map((m: { id: string }) => m.id);
      return ids.includes('node-a') && ids.includes('node-b') ? body : undefined;
    }, 20_000);
    const a = machines.find((m: { id: string }) => m.id === 'node-a');
    expect(a).toMatchObject({ id: 'node-a', name: 'Node A', status: expect.stringMatching(/^(healthy|warning|critical)$/) });
    for (const key of ['cpu_percent', 'memory_percent', 'disk_percent', 'load_avg_1m', 'network_recv_bytes_sec', 'network_sent_bytes_sec']) {
      expect(typeof a.metrics[key], key).toBe('number');
    }
    expect(Date.now() - a.lastSeen).toBeLessThan(5_000);
    // Live: the sequence moves on.
    await waitFor('a newer report', async () => (await getJson('/api/machines')).body.find((m: { id: string }) => m.id === 'node-a').lastSeq > a.lastSeq);
  });

  test('Redis holds the current state of each machine', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const record = JSON.parse((await redis.hget(`${redisKeys.prefix}machine:node-b`, 'record'))!);
      expect(record).toMatchObject({ id: 'node-b', displayName: 'Node B' });
      expect(await redis.sismember(`${redisKeys.prefix}machines`, 'node-a')).toBe(1);
      expect(await redis.llen(`${redisKeys.prefix}recent:node-a`)).toBeGreaterThan(0);
      expect(await redis.xlen(`${redisKeys.prefix}events`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  test('history rows land in PostgreSQL, one per report', async () => {
    const { rows } = await waitFor('rows for node-a', async () => {
      const r = await pool.query<{ n: string; distinct_seq: string }>("SELECT count(*) n, count(DISTINCT seq) distinct_seq FROM metrics WHERE machine_id = 'node-a'");
      return Number(r.rows[0].n) >= 3 ? r : undefined;
    });
    expect(rows[0].n).toBe(rows[0].distinct_seq);
    expect(hub.historyPath).toBe('postgres');
  });

  test('the full latest report of one machine', async () => {
    const { status, body } = await getJson('/api/machines/node-a/metrics');
    expect(status).toBe(200);
    expect(body.id).toBe('node-a');
    expect(body.report.machine_id).toBe('node-a');
    expect(body.report.cpu.per_core_percent.length).toBeGreaterThan(0);
    expect(body.report.memory.total_bytes).toBeGreaterThan(0);
  });

  test('history answers raw points and picks a tier for auto', async () => {
    const to = Date.now() + 1000;
    const from = to - 10 * 60_000;
    const raw = await waitFor('raw history', async () => {
      const { body } = await getJson(`/api/machines/node-a/history?metric=cpu_percent&from=${from}&to=${to}&step=raw`);
      return body.points.length >= 3 ? body : undefined;
    });
    expect(raw).toMatchObject({ machine: 'node-a', metric: 'cpu_percent', step: 'raw' });
    for (const [t, v] of raw.points) {
      expect(t).toBeGreaterThanOrEqual(from);
      expect(v).toBeGreaterThanOrEqual(0);
    }
    const auto = await getJson(`/api/machines/node-a/history?metric=memory_percent&from=${from}&to=${to}`);
    expect(auto.status).toBe(200);
    expect(['raw', '1m', '1h']).toContain(auto.body.step);
  });

  test('unknown machines and bad parameters get 404 / 400 with a JSON error', async () => {
    expect(await getJson('/api/machines/nobody/metrics')).toMatchObject({ status: 404, body: { error: expect.stringContaining('nobody') } });
    expect(await getJson('/api/machines/nobody/history')).toMatchObject({ status: 404 });
    expect(await getJson('/api/machines/node-a/history?metric=bogus')).toMatchObject({ status: 400, body: { error: expect.stringContaining('unknown metric') } });
    expect(await getJson('/api/machines/node-a/history?from=yesterday')).toMatchObject({ status: 400 });
    expect(await getJson('/api/machines/node-a/history?from=2000&to=1000')).toMatchObject({ status: 400 });
    expect(await getJson('/api/machines/node-a/history?step=5m')).toMatchObject({ status: 400 });
    expect(await getJson('/api/nothing-here')).toMatchObject({ status: 404 });
  });

  test('health and readiness', async () => {
    expect(await getJson('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await getJson('/ready')).toMatchObject({ status: 200, body: { status: 'ready', checks: { history: true, state: true } } });
  });

  test('WS /ws sends a snapshot, then deltas', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws`);
    const messages: string[] = [];
    ws.on('message', (d) => messages.push(d.toString()));
    try {
      await waitFor('snapshot and a delta', () => messages.length >= 2 && messages.some((m) => m.includes('"t":"d"')), 10_000, 50);
      const reader = createFleetReader();
      const first = reader.read(decodeFleetMessage(messages[0]));
      expect(first.t).toBe('s');
      if (first.t === 's') expect(first.machines.map((m) => m.id)).toEqual(expect.arrayContaining(['node-a', 'node-b']));
      const delta = reader.read(decodeFleetMessage(messages.find((m) => m.includes('"t":"d"'))!));
      expect(delta.t === 'd' && delta.updates.map((u) => u[0])).toEqual(expect.arrayContaining([expect.stringMatching(/^node-/)]));
    } finally {
      ws.close();
    }
  });

  test('gRPC FleetService answers like REST', async () => {
    const client = createClient(FleetService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${hub.grpcPort}` }));
    const list = await client.listMachines({});
    expect(list.machines.map((m) => m.id)).toEqual(expect.arrayContaining(['node-a', 'node-b']));
    const one = await client.getMachine({ id: 'node-b' });
    expect(one.report?.machineId).toBe('node-b');
    await expect(client.getMachine({ id: 'nobody' })).rejects.toThrow(/unknown machine/);
  });
});

describe('replay and deduplication', () => {
  test('replaying already-acked seqs does not duplicate rows', async () => {
    const t0 = Date.now() - 60_000;
    const first = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'synth-1');
    for (let seq = 1; seq <= 50; seq++) first.send(syntheticReport('synth-1', seq, t0 + seq * 100));
    await waitFor('ack of 50', () => first.acked() === 50);
    await first.finish();

    const count = async () => Number((await pool.query("SELECT count(*) n FROM metrics WHERE machine_id = 'synth-1'")).rows[0].n);
    expect(await count()).toBe(50);

    const second = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'synth-1');
    await waitFor('welcome', () => second.responses.length > 0);
    const welcome = second.responses[0];
    expect(welcome.kind.case).toBe('welcome');
    expect(Number((welcome.kind.value as { lastSeq: bigint }).lastSeq)).toBe(50);
    for (let seq = 1; seq <= 60; seq++) second.send(syntheticReport('synth-1', seq, t0 + seq * 100));
    await waitFor('ack of 60', () => second.acked() === 60);
    await second.finish();
    expect(await count()).toBe(60);
    const dupes = await pool.query("SELECT seq FROM metrics WHERE machine_id = 'synth-1' GROUP BY seq HAVING count(*) > 1");
    expect(dupes.rows).toEqual([]);
  });

  test('an invalid report is rejected with a reason and acked; the stream and the hub carry on', async () => {
    const s = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'synth-2');
    const bad = syntheticReport('synth-2', 1, Date.now());
    bad.cpu!.totalPercent = Number.NaN;
    s.send(bad);
    s.send(syntheticReport('synth-2', 2, Date.now()));
    await waitFor('ack of 2', () => s.acked() === 2);
    await s.finish();
    const reject = s.responses.find((r) => r.kind.case === 'reject');
    expect(reject?.kind.value).toMatchObject({ seq: 1n, reason: expect.stringContaining('cpu') });
    const rows = await pool.query("SELECT seq FROM metrics WHERE machine_id = 'synth-2' ORDER BY seq");
    expect(rows.rows.map((r) => Number(r.seq))).toEqual([2]);
  });

  test('a stream that does not start with a hello is refused', async () => {
    const client = createClient((await import('../../proto/gen/sysmonstm/v1/ingest_pb.js')).IngestService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${hub.grpcPort}` }));
    const { create } = await import('@bufbuild/protobuf');
    const { StreamRequestSchema } = await import('../../proto/gen/sysmonstm/v1/ingest_pb.js');
    async function* reqs() {
      yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport('x', 1, Date.now()) } });
    }
    await expect((async () => {
      for await (const _ of client.stream(reqs())) void _;
    })()).rejects.toThrow(/hello/);
  });
});
