// The owner's report interval, end to end: a real hub (in process, local PostgreSQL, ADMIN_TOKEN set)
// and a real collector process (`sysmonstm collector`, COLLECTION_INTERVAL 1 s).
//   - PUT /api/machines/{id}/settings is refused without the admin token, with a bad body or interval
//     (0 or 100 ms .. 1 h), and for an unknown machine (404); GET answers the stored value;
//   - a PUT reaches the live collector at once (the Settings message): reports come at the new cadence
//     and /api/machines says intervalMs 200 after the next report;
//   - after a hub restart the setting is still there, and a collector started afresh (its own interval
//     1 s) is told it in the Welcome; intervalMs 0 gives the collector its own interval back;
//   - the gRPC twins (ConfigService GetMachineSettings / SetMachineSettings): same validation, codes
//     and effect.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ConfigService } from '../../proto/gen/sysmonstm/v1/config_pb.js';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { createTestDatabase, freePort, tempDir, waitFor } from '../support/servers.ts';

const ADMIN = 'machine-settings-admin-token-0123';
const MACHINE = 'ms-collector';

interface Listed {
  id: string;
  intervalMs: number;
  lastSeq: number;
}

describe('per-machine report interval: REST → Welcome / Settings → a real collector', () => {
  const hubDir = tempDir('settings-hub');
  const collectorDir = tempDir('settings-collector');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: Hub | undefined;
  let collector: CliProcess | undefined;
  let grpcPort: number;

  const start = async () =>
    startHub(
      parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: String(grpcPort), DATA_DIR: hubDir.path, TIMESCALE_URL: db.url, ADMIN_TOKEN: ADMIN, HISTORY_FLUSH_INTERVAL: '0.05', LIVE_PUSH_INTERVAL: '0.1' }),
      { log: pino({ level: 'silent' }) },
    );
  const startCollector = () =>
    runCli(['collector'], { AGGREGATOR_URL: `http://127.0.0.1:${grpcPort}`, MACHINE_ID: MACHINE, DATA_DIR: collectorDir.path, COLLECTION_INTERVAL: '1', LOG_FORMAT: 'json', TOP_PROCESSES: '0' });
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${hub!.httpPort}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const bearer = { authorization: `Bearer ${ADMIN}` };
  const listed = async () => ((await api('GET', '/api/machines')).body as Listed[]).find((m) => m.id === MACHINE);
  /** Reports stored over `ms` (the machine's seq moves by one per report). */
  const reportsIn = async (ms: number) => {
    const a = (await listed())!.lastSeq;
    await new Promise((r) => setTimeout(r, ms));
    return (await listed())!.lastSeq - a;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    grpcPort = await freePort();
    hub = await start();
    collector = startCollector();
    await waitFor('the collector listed', async () => ((await listed())?.lastSeq ?? 0) >= 2, 30_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${collector?.output()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await collector?.stop();
    await hub?.close();
    await db?.drop();
    hubDir.remove();
    collectorDir.remove();
  });

  test('validation, auth and 404', async () => {
    expect(await api('GET', `/api/machines/${MACHINE}/settings`)).toEqual({ status: 200, body: { intervalMs: 0 } });
    expect((await api('GET', '/api/machines/nobody-here/settings')).status).toBe(404);
    const noToken = await api('PUT', `/api/machines/${MACHINE}/settings`, { intervalMs: 500 });
    expect(noToken.status).toBe(401);
    expect((await api('PUT', `/api/machines/${MACHINE}/settings`, { intervalMs: 500 }, { authorization: 'Bearer wrong-token-wrong-token-wrong' })).status).toBe(401);
    expect((await api('PUT', `/api/machines/${MACHINE}/settings`, { intervalMs: 500 }, { ...bearer, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    for (const [body, message] of [
      [{ intervalMs: 99 }, /between 100 and 3600000/],
      [{ intervalMs: 3_600_001 }, /between 100 and 3600000/],
      [{ intervalMs: 1.5 }, /integer/],
      [{ intervalMs: '500' }, /integer/],
      [{}, /required/],
      [{ intervalMs: 500, extra: 1 }, /unknown field "extra"/],
      [[500], /JSON object/],
      ['{not json', /JSON/],
    ] as const) {
      const res = await api('PUT', `/api/machines/${MACHINE}/settings`, body, bearer);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body as { error: string }).error).toMatch(message);
    }
    expect((await api('PUT', '/api/machines/nobody-here/settings', { intervalMs: 500 }, bearer)).status).toBe(404);
    // Nothing above changed anything.
    expect((await api('GET', `/api/machines/${MACHINE}/settings`)).body).toEqual({ intervalMs: 0 });
    expect((await listed())!.intervalMs).toBe(1000);
  });

  test('pushed to the live collector at once; kept across a hub restart and sent in the Welcome; 0 restores the collector’s own', async () => {
    const slow = await reportsIn(3000);
    expect(slow).toBeGreaterThanOrEqual(2);
    expect(slow).toBeLessThanOrEqual(4);

    expect(await api('PUT', `/api/machines/${MACHINE}/settings`, { intervalMs: 200 }, bearer)).toEqual({ status: 200, body: { intervalMs: 200 } });
    expect((await api('GET', `/api/machines/${MACHINE}/settings`)).body).toEqual({ intervalMs: 200 });
    await waitFor('intervalMs 200 in /api/machines', async () => (await listed())!.intervalMs === 200, 5_000);
    const fast = await reportsIn(3000);
    expect(fast).toBeGreaterThanOrEqual(11); // 15 at 200 ms; at 1 s it would be 3
    expect(fast).toBeLessThanOrEqual(17);
    expect(collector!.output()).toMatch(/hub changed the settings/);

    // The hub restarts and the collector is restarted with its own 1 s: the Welcome says 200.
    await collector!.stop();
    await hub!.close();
    hub = await start();
    expect((await api('GET', `/api/machines/${MACHINE}/settings`)).body).toEqual({ intervalMs: 200 });
    const before = collector!.output();
    collector = startCollector();
    await waitFor('the collector back', async () => (await listed())?.intervalMs === 200, 20_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${before}\n${collector?.output()}`);
    });
    expect(collector.output()).toMatch(/sampling interval changed/);
    const afterRestart = await reportsIn(3000);
    expect(afterRestart).toBeGreaterThanOrEqual(11);

    // 0: the collector's own COLLECTION_INTERVAL again.
    expect((await api('PUT', `/api/machines/${MACHINE}/settings`, { intervalMs: 0 }, bearer)).status).toBe(200);
    await waitFor('intervalMs 1000 again', async () => (await listed())!.intervalMs === 1000, 5_000);
    const own = await reportsIn(3000);
    expect(own).toBeLessThanOrEqual(4);
  }, 60_000);

  test('the gRPC twins: ConfigService GetMachineSettings and SetMachineSettings', async () => {
    const config = createClient(ConfigService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}` }));
    const code = async (call: Promise<unknown>) => {
      try {
        await call;
        return 'OK';
      } catch (err) {
        return Code[ConnectError.from(err).code];
      }
    };
    const admin = { headers: bearer };
    expect((await config.getMachineSettings({ machineId: MACHINE })).settings?.intervalMs).toBe(0);
    expect(await code(config.getMachineSettings({ machineId: 'nobody-here' }))).toBe('NotFound');
    expect(await code(config.setMachineSettings({ machineId: MACHINE, settings: { intervalMs: 300 } }))).toBe('Unauthenticated');
    expect(await code(config.setMachineSettings({ machineId: MACHINE, settings: { intervalMs: 99 } }, admin))).toBe('InvalidArgument');
    expect(await code(config.setMachineSettings({ machineId: '', settings: { intervalMs: 300 } }, admin))).toBe('InvalidArgument');
    expect(await code(config.setMachineSettings({ machineId: 'nobody-here', settings: { intervalMs: 300 } }, admin))).toBe('NotFound');
    expect((await config.setMachineSettings({ machineId: MACHINE, settings: { intervalMs: 300 } }, admin)).settings?.intervalMs).toBe(300);
    expect((await api('GET', `/api/machines/${MACHINE}/settings`)).body).toEqual({ intervalMs: 300 });
    await waitFor('intervalMs 300 in /api/machines', async () => (await listed())!.intervalMs === 300, 5_000);
    expect((await config.setMachineSettings({ machineId: MACHINE }, admin)).settings?.intervalMs).toBe(0);
    await waitFor('intervalMs 1000 again', async () => (await listed())!.intervalMs === 1000, 5_000);
  }, 30_000);
});
