// hub/fleet/settings-fanout.ts: a machine's settings changed on one hub reach its stream on another.
// Two real hubs on one PostgreSQL database and one Redis (127.0.0.1:6379, a unique prefix), as replicas
// or hub processes run: a collector streams to hub B over gRPC, the owner PUTs its interval on hub A,
// and the Settings message arrives on the stream at B at once; a machine no hub holds changes nothing;
// messages on the channel that are not changes are ignored (pure parse).
import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../../hub/config.ts';
import { parseSettingsChange } from '../../../hub/fleet/settings-fanout.ts';
import { startHub, type Hub } from '../../../hub/hub.ts';
import { IngestService, StreamRequestSchema, type StreamRequest, type StreamResponse } from '../../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { createTestDatabase, REDIS_URL, redisPrefix, tempDir, waitFor } from '../../support/servers.ts';
import { syntheticReport } from '../../support/synthetic-collector.ts';

const ADMIN = 'settings-fanout-admin-token-0123';

describe('parseSettingsChange (pure)', () => {
  test.each([
    ['a change', '{"machine":"m-1","intervalMs":500,"from":"x"}', { machine: 'm-1', intervalMs: 500, from: 'x' }],
    ['back to the collector’s own', '{"machine":"m-1","intervalMs":0,"from":"x"}', { machine: 'm-1', intervalMs: 0, from: 'x' }],
    ['not JSON', '{', undefined],
    ['not an object', '5', undefined],
    ['a bad machine id', '{"machine":"../x","intervalMs":500,"from":"x"}', undefined],
    ['an interval out of bounds', '{"machine":"m-1","intervalMs":5,"from":"x"}', undefined],
    ['no sender', '{"machine":"m-1","intervalMs":500}', undefined],
  ])('%s', (_name, message, expected) => {
    expect(parseSettingsChange(message)).toEqual(expected);
  });
});

describe('settings changed on one hub reach the stream on another', () => {
  const keys = redisPrefix();
  const dirs = [tempDir('fanout-a'), tempDir('fanout-b')];
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let hubA: Hub;
  let hubB: Hub;

  beforeAll(async () => {
    db = await createTestDatabase();
    const start = (dir: string) =>
      startHub(
        parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', REDIS_URL, DATA_DIR: dir, TIMESCALE_URL: db.url, ADMIN_TOKEN: ADMIN, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' }),
        { log: pino({ level: 'silent' }), redisPrefix: keys.prefix },
      );
    hubA = await start(dirs[0].path);
    hubB = await start(dirs[1].path);
  }, 60_000);

  afterAll(async () => {
    await hubA?.close();
    await hubB?.close();
    await db?.drop();
    await keys.cleanup();
    for (const d of dirs) d.remove();
  });

  test('PUT on A → Settings on the stream at B', async () => {
    const client = createClient(IngestService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${hubB.grpcPort}` }));
    let end: () => void = () => {};
    const ended = new Promise<void>((r) => (end = r));
    async function* requests(): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: 'fan-1', hostname: 'fan-1' } } });
      yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport('fan-1', 1, Date.now()) } });
      await ended;
    }
    const got: StreamResponse[] = [];
    const reading = (async () => {
      for await (const res of client.stream(requests(), { timeoutMs: 30_000 })) got.push(res);
    })();
    const put = (hub: Hub, machine: string, intervalMs: number) =>
      fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/${machine}/settings`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ intervalMs }),
      });
    try {
      // A knows the machine through the shared state.
      await waitFor('fan-1 acked and known to A', async () => got.some((r) => r.kind.case === 'ack') && (await fetch(`http://127.0.0.1:${hubA.httpPort}/api/machines/fan-1/metrics`)).status === 200, 15_000);
      expect((await put(hubA, 'fan-1', 400)).status).toBe(200);
      await waitFor('the Settings message at B', () => got.some((r) => r.kind.case === 'settings'), 5_000);
      const settings = got.filter((r) => r.kind.case === 'settings');
      expect(settings).toHaveLength(1);
      expect(settings[0].kind.case === 'settings' && settings[0].kind.value.intervalMs).toBe(400);

      // Noise on the channel is ignored; B's stream stays as it was.
      const noise = new Redis(REDIS_URL);
      await noise.publish(`${keys.prefix}settings`, '{"machine":"fan-1","intervalMs":7,"from":"z"}');
      await noise.publish(`${keys.prefix}settings`, 'not json');
      await noise.quit();
      expect((await put(hubA, 'fan-1', 0)).status).toBe(200);
      await waitFor('the second Settings message', () => got.filter((r) => r.kind.case === 'settings').length === 2, 5_000);
      const last = got.filter((r) => r.kind.case === 'settings').at(-1)!;
      expect(last.kind.case === 'settings' && last.kind.value.intervalMs).toBe(0);
      expect(got.filter((r) => r.kind.case === 'settings')).toHaveLength(2);
    } finally {
      end();
      await reading.catch(() => {});
    }
  }, 60_000);
});
