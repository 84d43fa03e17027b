// hub/grpc-errors.ts: the one error path of the hub's gRPC services, in process through Connect's
// createRouterTransport with the hub's routes and the interceptor as hub.ts installs it. The services
// throw plain errors; callers get INVALID_ARGUMENT for validation, NOT_FOUND for an unknown machine,
// UNAVAILABLE for a database that refuses connections (a real pg pool on a closed port) and for a
// Redis that cannot be reached (the hub's own Redis gateway on a closed port), on unary calls and on
// the ingest stream alike; a ConnectError a service throws on purpose passes unchanged.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createPgClient, DatabaseError, type SqlClient } from '../../hub/db.ts';
import { isRedisUnavailable, toConnectError, HttpError } from '../../hub/errors.ts';
import { createFleetQuery } from '../../hub/fleet/fleet-query.ts';
import { createFleetService } from '../../hub/fleet-service.ts';
import { grpcErrorInterceptor } from '../../hub/grpc-errors.ts';
import type { HistoryStore } from '../../hub/history/history-store.ts';
import { createIngestService } from '../../hub/ingest-service.ts';
import { createRedisGateway, type RedisGateway } from '../../hub/redis.ts';
import { createRoutes } from '../../hub/routes.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { createRedisState } from '../../hub/state/redis-state.ts';
import type { StateStore } from '../../hub/state/state-store.ts';
import { FleetService } from '../../proto/gen/sysmonstm/v1/fleet_pb.js';
import { IngestService, StreamRequestSchema, type StreamRequest } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { freePort } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });

/** A HistoryStore whose every read goes to `db` (the rows do not matter: these tests are about failures). */
function historyOn(db: SqlClient): HistoryStore {
  const fail = async (): Promise<never> => {
    await db.query('SELECT 1');
    throw new Error('the closed port answered');
  };
  return { path: 'test', lastSeq: fail, query: fail, ping: async () => false, maintain: fail, close: async () => {} } as unknown as HistoryStore;
}

function clients(state: StateStore, history: HistoryStore) {
  const fleet = createFleetService(createFleetQuery({ state, history }));
  const ingest = createIngestService({ state, events: createMemoryEvents(log), history, writer: { add: async () => {} }, log, maxMachines: 10 });
  const transport = createRouterTransport(createRoutes({ ingest, fleet }), { router: { interceptors: [grpcErrorInterceptor()] } });
  return { fleet: createClient(FleetService, transport), ingest: createClient(IngestService, transport) };
}

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return Code[(err as ConnectError).code];
  }
}

async function streamCode(client: ReturnType<typeof clients>['ingest'], machine: string): Promise<string> {
  async function* requests(): AsyncGenerator<StreamRequest> {
    yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: machine, hostname: machine } } });
    yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machine, 1, Date.now()) } });
  }
  return codeOf((async () => {
    for await (const _ of client.stream(requests()));
  })());
}

describe('the gRPC error interceptor', () => {
  let deadDb: SqlClient;
  let deadRedis: RedisGateway;

  beforeAll(async () => {
    deadDb = createPgClient(`postgres://postgres@127.0.0.1:${await freePort()}/none`, { log, connectTimeoutMs: 2000, maxConnections: 1 });
    deadRedis = createRedisGateway(`redis://127.0.0.1:${await freePort()}`, log);
  });
  afterAll(async () => {
    await deadDb?.close();
    await deadRedis?.close();
  });

  test('the mapping (pure): HttpError statuses, retryable and other database errors, Redis, anything else', () => {
    expect(toConnectError(new HttpError(400, 'bad')).code).toBe(Code.InvalidArgument);
    expect(toConnectError(new HttpError(404, 'gone')).code).toBe(Code.NotFound);
    expect(toConnectError(new HttpError(503, 'later')).code).toBe(Code.Unavailable);
    expect(toConnectError(new DatabaseError('down', { code: 'ECONNREFUSED', retryable: true })).code).toBe(Code.Unavailable);
    expect(toConnectError(new DatabaseError('dup', { code: '23505', retryable: false })).code).toBe(Code.Internal);
    const own = new ConnectError('mine', Code.Aborted);
    expect(toConnectError(own)).toBe(own);
    expect(toConnectError(new Error('boom')).code).toBe(Code.Internal);
    expect(isRedisUnavailable(Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' }))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' }))).toBe(false);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(new Error('Command timed out'))).toBe(true);
    expect(isRedisUnavailable('Connection is closed.')).toBe(false);
  });

  test('validation → INVALID_ARGUMENT, unknown machine → NOT_FOUND, OK otherwise', async () => {
    const state = createMemoryState();
    const { fleet } = clients(state, historyOn(deadDb));
    expect(await codeOf(fleet.listMachines({}))).toBe('OK');
    expect(await codeOf(fleet.getMachine({ id: 'not a valid id!' }))).toBe('InvalidArgument');
    expect(await codeOf(fleet.getMachine({ id: 'nobody' }))).toBe('NotFound');
    expect(await codeOf(fleet.getHistory({ id: 'nobody', metric: 'no_such_metric' }))).toBe('InvalidArgument');
    expect(await codeOf(fleet.getHistory({ id: 'nobody', fromMs: 10n, toMs: 5n }))).toBe('InvalidArgument');
  });

  test('a database that refuses connections → UNAVAILABLE, on a unary call and on the ingest stream', async () => {
    const { fleet, ingest } = clients(createMemoryState(), historyOn(deadDb));
    // An unknown machine's history asks the database whether it ever reported.
    expect(await codeOf(fleet.getHistory({ id: 'asks-the-db' }))).toBe('Unavailable');
    // The hello asks the database for the machine's durable seq.
    expect(await streamCode(ingest, 'asks-the-db')).toBe('Unavailable');
  });

  test('a Redis that cannot be reached → UNAVAILABLE', async () => {
    const { fleet } = clients(createRedisState(deadRedis.command, { prefix: 'grpc-errors-test:' }), historyOn(deadDb));
    expect(await codeOf(fleet.listMachines({}))).toBe('Unavailable');
  }, 20_000);

  test('a ConnectError thrown on purpose passes unchanged (a hello for a bad id)', async () => {
    const { ingest } = clients(createMemoryState(), historyOn(deadDb));
    expect(await streamCode(ingest, 'bad id!')).toBe('InvalidArgument');
  });
});
