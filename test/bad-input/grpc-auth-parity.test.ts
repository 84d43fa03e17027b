// Auth parity between the gRPC port and the REST API, against real hubs: every RPC of FleetService and
// ConfigService × {no token, collector token, dashboard token, admin token}, on a hub with all tokens
// set (reads need the dashboard token, writes the admin token, as over REST), and on a hub without any
// token, from a loopback and from a remote peer (reads and writes answered for loopback only, as the
// HTTP port's 127.0.0.1 binding implies). Test traffic is all loopback: the remote peer is played with
// the hub's grpcPeerAddress option. Channel webhook URLs: gRPC shows no more than REST.
import { type DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { ConfigService } from '../../proto/gen/sysmonstm/v1/config_pb.js';
import { FleetService } from '../../proto/gen/sysmonstm/v1/fleet_pb.js';
import { createTestDatabase, tempDir } from '../support/servers.ts';

const DASHBOARD = 'dashboard-token-parity-0001';
const ADMIN = 'admin-token-parity-000000001';
const COLLECTOR = 'collector-token-parity-00001';
const TOKENS = { none: undefined, collector: COLLECTOR, dashboard: DASHBOARD, admin: ADMIN } as const;
type TokenKind = keyof typeof TOKENS;

const rule = { name: 'cpu', metric: 'cpu_percent', op: '>', threshold: 90, forS: 0, severity: 'warning', channels: [] };
/** Every RPC with a request that passes validation where it can; `write` as its REST twin is a write. */
const RPCS: Array<{ service: DescService; method: string; write: boolean; request: Record<string, unknown> }> = [
  { service: FleetService, method: 'listMachines', write: false, request: {} },
  { service: FleetService, method: 'getMachine', write: false, request: { id: 'parity-1' } },
  { service: FleetService, method: 'getHistory', write: false, request: { id: 'parity-1', metric: 'cpu_percent' } },
  { service: ConfigService, method: 'listRules', write: false, request: {} },
  { service: ConfigService, method: 'getRule', write: false, request: { id: 'no-such-rule' } },
  { service: ConfigService, method: 'createRule', write: true, request: { rule } },
  { service: ConfigService, method: 'updateRule', write: true, request: { id: 'no-such-rule', rule } },
  { service: ConfigService, method: 'deleteRule', write: true, request: { id: 'no-such-rule' } },
  { service: ConfigService, method: 'listChannels', write: false, request: {} },
  { service: ConfigService, method: 'createChannel', write: true, request: { name: 'ops', channel: { type: 'webhook', url: 'https://hooks.example.com/services/T000/B000/secretpath' } } },
  { service: ConfigService, method: 'deleteChannel', write: true, request: { id: 'no-such-channel' } },
  { service: ConfigService, method: 'listAlerts', write: false, request: {} },
  { service: ConfigService, method: 'listAlertHistory', write: false, request: {} },
  { service: ConfigService, method: 'acknowledgeAlert', write: true, request: { ruleId: 'no-such-rule', machine: 'parity-1' } },
  { service: ConfigService, method: 'silenceAlert', write: true, request: { ruleId: 'no-such-rule', machine: 'parity-1', durationS: 60 } },
  { service: ConfigService, method: 'listDeadLetters', write: false, request: {} },
  { service: ConfigService, method: 'retryDeadLetter', write: true, request: { id: 999_999n } },
  { service: ConfigService, method: 'getMachineSettings', write: false, request: { machineId: 'parity-1' } },
  { service: ConfigService, method: 'setMachineSettings', write: true, request: { machineId: 'parity-1', settings: { intervalMs: 0 } } },
];

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let guarded: Hub; // DASHBOARD_TOKEN + ADMIN_TOKEN + COLLECTOR_TOKEN
let open: Hub; // no token at all
const dirs = [tempDir('parity-guarded'), tempDir('parity-open')];

/** "allowed" when the call got past authorisation (any answer but UNAUTHENTICATED / PERMISSION_DENIED). */
async function call(hub: Hub, rpc: (typeof RPCS)[number], headers: Record<string, string>): Promise<'allowed' | 'denied'> {
  const client = createClient(rpc.service, createGrpcTransport({ baseUrl: `http://127.0.0.1:${hub.grpcPort}` })) as unknown as Record<string, (req: unknown, opts: unknown) => Promise<unknown>>;
  try {
    await client[rpc.method](rpc.request, { headers, timeoutMs: 10_000 });
    return 'allowed';
  } catch (err) {
    const code = ConnectError.from(err).code;
    return code === Code.Unauthenticated || code === Code.PermissionDenied ? 'denied' : 'allowed';
  }
}
const bearer = (kind: TokenKind): Record<string, string> => (TOKENS[kind] ? { authorization: `Bearer ${TOKENS[kind]}` } : {});

const testPeer = (req: { headers: Record<string, string | string[] | undefined>; socket: { remoteAddress?: string } }) =>
  (req.headers['x-test-peer'] as string | undefined) ?? req.socket.remoteAddress;

beforeAll(async () => {
  db = await createTestDatabase();
  const base = { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url };
  guarded = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[0].path, DASHBOARD_TOKEN: DASHBOARD, ADMIN_TOKEN: ADMIN, COLLECTOR_TOKEN: COLLECTOR }), {
    log: pino({ level: 'silent' }),
    grpcPeerAddress: testPeer,
  });
  open = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[1].path }), {
    log: pino({ level: 'silent' }),
    grpcPeerAddress: testPeer,
  });
}, 60_000);

afterAll(async () => {
  await guarded?.close();
  await open?.close();
  await db?.drop();
  for (const d of dirs) d.remove();
});

describe('every RPC × every token', () => {
  it('with DASHBOARD_TOKEN and ADMIN_TOKEN: reads need the dashboard (or admin) token, writes the admin token', async () => {
    const got: Record<string, Record<TokenKind, string>> = {};
    const want: Record<string, Record<TokenKind, string>> = {};
    for (const [i, rpc] of RPCS.entries()) {
      const name = `${rpc.service.name}.${rpc.method}`;
      got[name] = {} as Record<TokenKind, string>;
      // One address per RPC: the wrong tokens of the table stay under the per-address throttle (tested below).
      const peer = { 'x-test-peer': `198.51.100.${i + 1}` };
      for (const kind of Object.keys(TOKENS) as TokenKind[]) got[name][kind] = await call(guarded, rpc, { ...bearer(kind), ...peer });
      want[name] = { none: 'denied', collector: 'denied', dashboard: rpc.write ? 'denied' : 'allowed', admin: 'allowed' };
    }
    expect(got).toEqual(want);
  });

  it('without any token: everything is answered for a loopback peer, nothing for a remote one', async () => {
    const got: Record<string, Record<string, string>> = {};
    const want: Record<string, Record<string, string>> = {};
    for (const rpc of RPCS) {
      const name = `${rpc.service.name}.${rpc.method}`;
      got[name] = {};
      want[name] = {};
      for (const kind of Object.keys(TOKENS) as TokenKind[]) {
        got[name][`loopback/${kind}`] = await call(open, rpc, bearer(kind));
        got[name][`remote/${kind}`] = await call(open, rpc, { ...bearer(kind), 'x-test-peer': '192.0.2.10' });
        want[name][`loopback/${kind}`] = 'allowed';
        want[name][`remote/${kind}`] = 'denied';
      }
    }
    expect(got).toEqual(want);
  });
});

describe('channel secrets', () => {
  it('ListChannels over gRPC shows what GET /api/channels shows, and no secret', async () => {
    const admin = createClient(ConfigService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${guarded.grpcPort}` }));
    await admin.createChannel(
      { name: 'signed', channel: { type: 'webhook', url: 'https://hooks.example.com/signed', secret: 'a-signing-secret-0001' } },
      { headers: { authorization: `Bearer ${ADMIN}` } },
    );
    const grpc = await admin.listChannels({}, { headers: { authorization: `Bearer ${DASHBOARD}` } });
    const rest = (await (await fetch(`http://127.0.0.1:${guarded.httpPort}/api/channels`, { headers: { authorization: `Bearer ${DASHBOARD}` } })).json()) as Array<{ id: string; url: string; has_secret: boolean }>;
    expect(grpc.channels.map((c) => ({ id: c.id, url: c.channel!.url, has_secret: c.channel!.hasSecret })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      rest.map((c) => ({ id: c.id, url: c.url, has_secret: c.has_secret })).sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(grpc.channels.every((c) => c.channel!.secret === '')).toBe(true);
    expect(JSON.stringify(rest)).not.toContain('a-signing-secret-0001');
  });
});

describe('wrong tokens over gRPC', () => {
  it('count against the address with the HTTP port: past the allowance both refuse it, even with the right token', async () => {
    const fleet = createClient(FleetService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${guarded.grpcPort}` }));
    const peer = { 'x-test-peer': '203.0.113.7' };
    const codes: Code[] = [];
    for (let i = 0; i < 12; i++) {
      codes.push(await fleet.listMachines({}, { headers: { authorization: `Bearer wrong-${i}`, ...peer } }).then(() => Code.Unknown, (err) => ConnectError.from(err).code));
    }
    // The first ten are compared and refused; then the address waits, and is told so.
    expect(codes.slice(0, 10).every((c) => c === Code.Unauthenticated)).toBe(true);
    expect(codes.slice(10)).toEqual([Code.ResourceExhausted, Code.ResourceExhausted]);
    const right = await fleet.listMachines({}, { headers: { authorization: `Bearer ${DASHBOARD}`, ...peer } }).catch((err) => ConnectError.from(err));
    expect(right).toBeInstanceOf(ConnectError);
    expect((right as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((right as ConnectError).rawMessage).toMatch(/too many wrong tokens from this address; try again in \d+ s/);
    // Another address is not affected.
    await expect(fleet.listMachines({}, { headers: { authorization: `Bearer ${DASHBOARD}`, 'x-test-peer': '203.0.113.8' } })).resolves.toBeDefined();

    // From the real loopback address: wrong tokens over gRPC, then the HTTP port refuses the same address.
    for (let i = 0; i < 10; i++) await fleet.listMachines({}, { headers: { authorization: `Bearer wrong-loop-${i}` } }).catch(() => undefined);
    const res = await fetch(`http://127.0.0.1:${guarded.httpPort}/api/machines`, { headers: { authorization: `Bearer ${DASHBOARD}` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
