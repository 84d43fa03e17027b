// hub/config-service.ts in process through Connect's createRouterTransport, with the hub's error
// interceptor, on real alerting (startAlerting: rules and channels in a migrated PostgreSQL database of
// its own, memory alert state and events) and the real machine settings store: the same answers and
// validation as REST, with gRPC codes — writes need the admin token (UNAUTHENTICATED otherwise),
// validation is INVALID_ARGUMENT, unknown ids NOT_FOUND, secrets never come back — and the machine
// settings twins (UNIMPLEMENTED where the hub serves none).
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAlerting, type Alerting } from '../../hub/alerts/alerting.ts';
import { createConfigService, type MachineSettingsApi } from '../../hub/config-service.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { createPgClient, type SqlClient } from '../../hub/db.ts';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createMachineSettingsStore } from '../../hub/fleet/machine-settings.ts';
import { grpcErrorInterceptor } from '../../hub/grpc-errors.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { ConfigService } from '../../proto/gen/sysmonstm/v1/config_pb.js';
import { migrate } from '../../schema/migrate.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';

const log = pino({ level: 'silent' });
const ADMIN = 'config-service-admin-token-01234';
const admin = { headers: { authorization: `Bearer ${ADMIN}` } };

async function code(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
}

describe('ConfigService in process', () => {
  const dir = tempDir('config-service');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: SqlClient;
  let alerting: Alerting;
  let settings: MachineSettingsApi;
  const pushed: string[] = [];

  const client = (machineSettings?: MachineSettingsApi) =>
    createClient(
      ConfigService,
      createRouterTransport((router) => router.service(ConfigService, createConfigService({ api: alerting.api, adminToken: ADMIN, machineSettings })), {
        router: { interceptors: [grpcErrorInterceptor()] },
      }),
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = createPgClient(db.url, { log, maxConnections: 4 });
    await migrate(sql);
    const state = createMemoryState();
    const t = Date.now();
    await state.put({ id: 'cs-box', hostname: 'cs-box', displayName: 'cs-box', labels: {}, lastSeenMs: t, sampledAtMs: t, lastSeq: 1, intervalMs: 1000, metrics: {} as never }, new Uint8Array());
    const config = parseHubConfig([], { DATA_DIR: dir.path });
    alerting = await startAlerting({ db: sql, redis: undefined, events: createMemoryEvents(log), machines: state, log, config: config.alerts, dataDir: dir.path });
    const store = createMachineSettingsStore(sql, log);
    settings = {
      known: async (id) => (await state.get(id)) !== undefined,
      get: store.get,
      put: async (id, s) => {
        await store.put(id, s);
        pushed.push(`${id}:${s.intervalMs}`);
      },
    };
  }, 60_000);

  afterAll(async () => {
    await alerting?.close();
    await sql?.close();
    await db?.drop();
    dir.remove();
  });

  test('rules: the REST answers, writes need the admin token, validation and NOT_FOUND', async () => {
    const config = client();
    const listed = await config.listRules({});
    expect(listed.rules.map((r) => r.id).sort()).toEqual((await alerting.api.listRules()).map((r) => r.id).sort());

    const rule = { name: 'Disk nearly full', metric: 'disk_percent', op: '>', threshold: 92, forS: 30, severity: 'critical', channels: [] };
    expect(await code(config.createRule({ rule: { ...rule, id: 'cs-disk' } }))).toBe('Unauthenticated');
    expect(await code(config.createRule({ rule: { ...rule, id: 'cs-disk' } }, { headers: { authorization: 'Bearer not-the-admin-token-at-all-00' } }))).toBe('Unauthenticated');
    expect(await code(config.createRule({ rule: { ...rule, metric: 'no_such_metric' } }, admin))).toBe('InvalidArgument');
    expect(await code(config.createRule({ rule: { ...rule, threshold: Number.NaN } }, admin))).toBe('InvalidArgument');

    const created = (await config.createRule({ rule: { ...rule, id: 'cs-disk' } }, admin)).rule!;
    expect(created).toMatchObject({ id: 'cs-disk', name: 'Disk nearly full', metric: 'disk_percent', op: '>', threshold: 92, forS: 30, severity: 'critical' });
    expect(created.clearThreshold).toBe(92); // no hysteresis given: the threshold
    expect(created.createdAtMs).toBeGreaterThan(0n);
    expect((await config.getRule({ id: 'cs-disk' })).rule!.name).toBe('Disk nearly full');
    expect(await code(config.createRule({ rule: { ...rule, id: 'cs-disk' } }, admin))).toBe('AlreadyExists');

    const updated = (await config.updateRule({ id: 'cs-disk', rule: { ...rule, threshold: 95 } }, admin)).rule!;
    expect(updated.threshold).toBe(95);
    expect(await code(config.updateRule({ id: 'cs-nobody', rule }, admin))).toBe('NotFound');
    expect(await code(config.deleteRule({ id: 'cs-disk' }))).toBe('Unauthenticated');
    await config.deleteRule({ id: 'cs-disk' }, admin);
    expect(await code(config.getRule({ id: 'cs-disk' }))).toBe('NotFound');
  });

  test('channels keep their secret to themselves; alerts and dead letters read', async () => {
    const config = client();
    const saved = (await config.createChannel({ id: 'cs-hook', name: 'ops', channel: { type: 'webhook', url: 'https://hooks.example.com/x', secret: 's3cret-value' } }, admin)).channel!;
    expect(saved).toMatchObject({ id: 'cs-hook', name: 'ops', channel: { type: 'webhook', url: 'https://hooks.example.com/x', hasSecret: true, secret: '' } });
    const listed = (await config.listChannels({})).channels.find((c) => c.id === 'cs-hook')!;
    expect(listed.channel).toMatchObject({ hasSecret: true, secret: '' });
    expect(await code(config.createChannel({ name: 'bad', channel: { type: 'carrier-pigeon', url: 'https://x.example' } }, admin))).toBe('InvalidArgument');
    await config.deleteChannel({ id: 'cs-hook' }, admin);
    expect(await code(config.deleteChannel({ id: 'cs-hook' }, admin))).toBe('NotFound');

    expect((await config.listAlerts({})).alerts).toEqual([]);
    expect((await config.listAlertHistory({ limit: 10 })).events).toBeInstanceOf(Array);
    expect(await code(config.listAlertHistory({ limit: 5000 }))).toBe('InvalidArgument');
    expect((await config.listDeadLetters({})).deadLetters).toEqual([]);
    expect(await code(config.retryDeadLetter({ id: 999_999n }, admin))).toBe('NotFound');
  });

  test('machine settings: the twins of GET/PUT /api/machines/{id}/settings', async () => {
    const config = client(settings);
    expect((await config.getMachineSettings({ machineId: 'cs-box' })).settings).toMatchObject({ intervalMs: 0 });
    expect(await code(config.getMachineSettings({ machineId: 'cs-nobody' }))).toBe('NotFound');
    expect(await code(config.getMachineSettings({ machineId: '' }))).toBe('InvalidArgument');
    expect(await code(config.setMachineSettings({ machineId: 'cs-box', settings: { intervalMs: 500 } }))).toBe('Unauthenticated');
    expect(await code(config.setMachineSettings({ machineId: 'cs-box', settings: { intervalMs: 99 } }, admin))).toBe('InvalidArgument');
    expect(await code(config.setMachineSettings({ machineId: 'cs-nobody', settings: { intervalMs: 500 } }, admin))).toBe('NotFound');
    expect(pushed).toEqual([]);
    expect((await config.setMachineSettings({ machineId: 'cs-box', settings: { intervalMs: 500 } }, admin)).settings).toMatchObject({ intervalMs: 500 });
    expect(pushed).toEqual(['cs-box:500']);
    expect((await config.getMachineSettings({ machineId: 'cs-box' })).settings).toMatchObject({ intervalMs: 500 });
    // Where the hub serves no settings.
    expect(await code(client().getMachineSettings({ machineId: 'cs-box' }))).toBe('Unimplemented');
  });
});
