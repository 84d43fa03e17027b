// The alerting API of a real hub (in process, local PostgreSQL, memory state) over real HTTP and gRPC:
// the seeded defaults, rule CRUD with validation and caps, write-only secrets, saved channels, the admin
// token on writes (REST and gRPC alike), loopback-only writes without a token, an alert fired by
// synthetic reports with status colours following it, acknowledge, silence and the history.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import WebSocket from 'ws';
import { createFleetReader, decodeFleetMessage } from '../../../proto/delta.ts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHttpApp } from '../../../hub/gateway/http-app.ts';
import { parseHubConfig } from '../../../hub/config.ts';
import { startHub, type Hub } from '../../../hub/hub.ts';
import { ConfigService } from '../../../proto/gen/sysmonstm/v1/config_pb.js';
import { createTestDatabase, freePort, tempDir, waitFor } from '../../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../../support/synthetic-collector.ts';

const TOKEN = 'test-admin-token-0123456789';
let hub: Hub;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const dir = tempDir('alerts-api');
let api: string;
const sessions: SyntheticSession[] = [];

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const config = parseHubConfig([], {
    // The receivers run on this machine (127.0.0.1).
    NOTIFY_ALLOW_PRIVATE: '1',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    DATA_DIR: dir.path,
    TIMESCALE_URL: db.url,
    HISTORY_FLUSH_INTERVAL: '0.05',
    ADMIN_TOKEN: TOKEN,
    ALERT_TICK_INTERVAL: '0.5',
  });
  hub = await startHub(config, { log: pino({ level: 'silent' }) });
  api = `http://127.0.0.1:${hub.httpPort}`;
});

afterAll(async () => {
  for (const s of sessions) await s.finish().catch(() => {});
  await hub?.close();
  await pool?.end();
  await db?.drop();
  dir.remove();
});

describe('rules over REST', () => {
  test('the defaults are there out of the box', async () => {
    const { status, body } = await call('GET', '/api/rules', undefined, null);
    expect(status).toBe(200);
    expect(body.map((r: { id: string }) => r.id).sort()).toEqual(['default-cpu', 'default-disk', 'default-memory', 'default-offline']);
    expect(body.find((r: { id: string }) => r.id === 'default-cpu')).toMatchObject({ metric: 'cpu_percent', op: '>', threshold: 90, for_s: 300, severity: 'warning', scope: {}, channels: [] });
    expect(body.find((r: { id: string }) => r.id === 'default-offline')).toMatchObject({ metric: 'offline', threshold: 60 });
  });

  test('writes need the admin token; reads do not', async () => {
    const rule = { name: 'x', metric: 'cpu_percent', threshold: 50 };
    expect(await call('POST', '/api/rules', rule, null)).toMatchObject({ status: 401, body: { error: expect.stringMatching(/Authorization: Bearer <ADMIN_TOKEN>/) } });
    expect(await call('POST', '/api/rules', rule, 'wrong-token-wrong-token')).toMatchObject({ status: 401, body: { error: 'the admin token is not valid' } });
    expect((await call('DELETE', '/api/rules/default-cpu', undefined, null)).status).toBe(401);
    expect((await call('POST', '/api/alerts/silence', { rule_id: 'default-cpu', machine: 'm', duration_s: 5 }, null)).status).toBe(401);
    expect((await call('GET', '/api/alerts', undefined, null)).status).toBe(200);
    expect((await call('GET', '/api/alerts/history', undefined, null)).status).toBe(200);
    expect((await call('GET', '/api/notifications/dead-letters', undefined, null)).status).toBe(200);
  });

  test('create, read, replace, delete', async () => {
    const created = await call('POST', '/api/rules', { id: 'load-high', name: 'Load high', metric: 'load_avg_5m', threshold: 4, clear_threshold: 3, for_s: 60, scope: { labels: { env: 'prod' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'load-high', name: 'Load high', metric: 'load_avg_5m', op: '>', threshold: 4, clear_threshold: 3, for_s: 60, severity: 'warning', scope: { labels: { env: 'prod' } }, channels: [], repeat_s: 0, mount: null });
    expect((await call('POST', '/api/rules', { id: 'load-high', name: 'again', metric: 'load_avg_5m', threshold: 4 })).status).toBe(409);
    expect((await call('GET', '/api/rules/load-high')).body.name).toBe('Load high');
    const replaced = await call('PUT', '/api/rules/load-high', { ...created.body, threshold: 8, clear_threshold: 6, severity: 'critical' });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ threshold: 8, clear_threshold: 6, severity: 'critical' });
    expect(replaced.body.updated_at).toBeGreaterThanOrEqual(created.body.updated_at);
    expect(await call('PUT', '/api/rules/load-high', { ...created.body, id: 'other' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/differs from the id in the path/) } });
    expect((await call('PUT', '/api/rules/nope', { name: 'n', metric: 'cpu_percent', threshold: 1 })).status).toBe(404);
    expect((await call('DELETE', '/api/rules/load-high')).status).toBe(204);
    expect((await call('DELETE', '/api/rules/load-high')).status).toBe(404);
    expect((await call('GET', '/api/rules/load-high')).status).toBe(404);
  });

  test('invalid rules are refused with 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'n', metric: 'cpu_percent', threshold: 'high' }, /^threshold must be a number/],
      [{ name: 'n', metric: 'bogus', threshold: 1 }, /^metric must be one of/],
      [{ name: 'n', metric: 'cpu_percent', threshold: 50, channels: [{ type: 'webhook', url: 'file:///etc/passwd' }] }, /^channels\[0\]\.url must be an http\(s\) URL/],
      [{ name: 'n', metric: 'cpu_percent', threshold: 50, channels: ['c-missing'] }, /^channels\[0\]: no saved channel with id "c-missing"/],
      [{ name: 'n', metric: 'cpu_percent', threshold: 50, scope: { machines: ['a b'] } }, /^scope\.machines\[0\]/],
      ['{not json', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', '/api/rules', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(message);
    }
    const res = await fetch(`${api}/api/rules`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, body: 'x' });
    expect(res.status).toBe(400);
    const big = await call('POST', '/api/rules', { name: 'n', metric: 'cpu_percent', threshold: 1, pad: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
  });

  test('secrets are write-only and survive a round trip through GET and PUT', async () => {
    const created = await call('POST', '/api/rules', {
      id: 'with-secret',
      name: 'n',
      metric: 'cpu_percent',
      threshold: 99,
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'hush-hush' }],
    });
    expect(created.body.channels).toEqual([{ type: 'webhook', url: 'http://127.0.0.1:9/hook', has_secret: true }]);
    const listed = await call('GET', '/api/rules');
    expect(JSON.stringify(listed.body)).not.toContain('hush-hush');
    await call('PUT', '/api/rules/with-secret', { ...created.body, name: 'renamed' });
    const stored = await pool.query(`SELECT channels FROM alert_rules WHERE id = 'with-secret'`);
    expect(stored.rows[0].channels).toEqual([{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'hush-hush' }]);
    // has_secret: false removes it.
    await call('PUT', '/api/rules/with-secret', { ...created.body, channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook', has_secret: false }] });
    expect((await pool.query(`SELECT channels FROM alert_rules WHERE id = 'with-secret'`)).rows[0].channels).toEqual([{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }]);
    expect((await call('DELETE', '/api/rules/with-secret')).status).toBe(204);
  });

  test('saved channels: created, referenced by id, not deletable while used', async () => {
    const ch = await call('POST', '/api/channels', { name: 'ops', type: 'ntfy', url: 'http://127.0.0.1:9/ops', secret: 'tk_1' });
    expect(ch.status).toBe(201);
    expect(ch.body).toMatchObject({ name: 'ops', type: 'ntfy', url: 'http://127.0.0.1:9/ops', has_secret: true });
    const rule = await call('POST', '/api/rules', { id: 'uses-channel', name: 'n', metric: 'memory_percent', threshold: 99, channels: [ch.body.id] });
    expect(rule.body.channels).toEqual([ch.body.id]);
    const del = await call('DELETE', `/api/channels/${ch.body.id}`);
    expect(del).toMatchObject({ status: 409, body: { error: expect.stringMatching(/used by rule\(s\) uses-channel/) } });
    await call('DELETE', '/api/rules/uses-channel');
    expect((await call('DELETE', `/api/channels/${ch.body.id}`)).status).toBe(204);
    expect((await call('GET', '/api/channels')).body).toEqual([]);
  });

  test('saved channels: the documented body without a name works; a test to a dead channel says why', async () => {
    const port = await freePort();
    const ch = await call('POST', '/api/channels', { type: 'webhook', url: `http://127.0.0.1:${port}/hook` });
    expect(ch).toMatchObject({ status: 201, body: { name: `webhook 127.0.0.1:${port}`, type: 'webhook', has_secret: false } });
    expect((await call('POST', `/api/channels/${ch.body.id}/test`, undefined, null)).status).toBe(401);
    expect(await call('POST', `/api/channels/${ch.body.id}/test`)).toMatchObject({ status: 200, body: { ok: false, http_status: null, error: 'ECONNREFUSED' } });
    expect((await call('POST', '/api/channels/c-nobody/test')).status).toBe(404);
    expect((await call('DELETE', `/api/channels/${ch.body.id}`)).status).toBe(204);
  });

  test('the rule count is capped', async () => {
    await pool.query(
      `INSERT INTO alert_rules (id, name, metric, op, threshold, clear_threshold, severity) SELECT 'bulk-' || g, 'bulk', 'cpu_percent', '>', 99, 99, 'warning' FROM generate_series(1, 500) g`,
    );
    const res = await call('POST', '/api/rules', { name: 'one too many', metric: 'cpu_percent', threshold: 50 });
    expect(res).toMatchObject({ status: 409, body: { error: expect.stringMatching(/limit of 500 rules/) } });
    await pool.query(`DELETE FROM alert_rules WHERE id LIKE 'bulk-%'`);
  });
});

describe('writes without ADMIN_TOKEN', () => {
  test('only loopback peers may write (the HTTP app with a peer address)', async () => {
    const app = createHttpApp({
      fleet: {} as never,
      ready: async () => ({}),
      info: () => ({}),
      log: pino({ level: 'silent' }),
      alerts: { api: { createRule: async () => ({ id: 'r' }) } as never, adminToken: undefined },
    });
    const post = (remoteAddress: string) =>
      app.request('/api/rules', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, { incoming: { socket: { remoteAddress } } });
    expect((await post('127.0.0.1')).status).toBe(201);
    expect((await post('::1')).status).toBe(201);
    const remote = await post('192.168.1.20');
    expect(remote.status).toBe(403);
    expect(await remote.json()).toEqual({ error: expect.stringMatching(/allowed from this machine only/) });
  });
});

describe('alerts fired by reports', () => {
  test('a firing alert shows in /api/alerts, colours the machine, can be acknowledged and silenced, and is in the history', async () => {
    const hot = await call('POST', '/api/rules', { id: 'hot-cpu', name: 'CPU hot', metric: 'cpu_percent', threshold: 50, clear_threshold: 40, severity: 'critical', scope: { machines: ['api-m1'] } });
    expect(hot.status).toBe(201);
    const s = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'api-m1');
    sessions.push(s);
    let seq = 0;
    const send = (cpu: number) => s.send(syntheticReport('api-m1', ++seq, Date.now(), cpu));
    send(20);
    await waitFor('the machine', async () => (await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m1'));
    expect((await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m1').status).toBe('healthy');
    // The live stream (what the hub also forwards to the public edge) carries the colour, never the rule.
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws`);
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    await waitFor('the snapshot', () => frames.length > 0);
    send(90);
    const alerts = await waitFor('firing', async () => {
      const list = (await call('GET', '/api/alerts?machine=api-m1', undefined, null)).body;
      return list.length > 0 && list;
    });
    expect(alerts).toEqual([
      { rule_id: 'hot-cpu', rule_name: 'CPU hot', machine: 'api-m1', state: 'firing', severity: 'critical', metric: 'cpu_percent', since: expect.any(Number), value: 90, acknowledged: false, silenced_until: null },
    ]);
    await waitFor('critical status', async () => (await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m1').status === 'critical');
    const liveStatus = () => {
      const reader = createFleetReader();
      let status: string | undefined;
      for (const f of frames) {
        const frame = reader.read(decodeFleetMessage(f));
        if (frame.t === 's') status = frame.machines.find((m) => m.id === 'api-m1')?.status ?? status;
        else for (const [id, , changes] of frame.updates) if (id === 'api-m1' && typeof changes.s === 'string') status = changes.s;
      }
      return status;
    };
    await waitFor('critical on /ws', () => liveStatus() === 'critical');
    ws.close();
    expect(frames.join('\n')).not.toMatch(/hot-cpu|CPU hot/);

    // gRPC answers the same.
    const client = createClient(ConfigService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${hub.grpcPort}` }));
    const viaGrpc = await client.listAlerts({ machine: 'api-m1' });
    expect(viaGrpc.alerts.map((a) => [a.ruleId, a.state, a.severity, a.value])).toEqual([['hot-cpu', 'firing', 'critical', 90]]);

    const acked = await call('POST', '/api/alerts/acknowledge', { rule_id: 'hot-cpu', machine: 'api-m1' });
    expect(acked).toMatchObject({ status: 200, body: { acknowledged: true, state: 'firing' } });
    expect((await call('POST', '/api/alerts/acknowledge', { rule_id: 'default-cpu', machine: 'api-m1' })).status).toBe(404);
    expect((await call('POST', '/api/alerts/acknowledge', { rule_id: 'hot-cpu' })).body.error).toMatch(/^machine must match/);
    const silenced = await call('POST', '/api/alerts/silence', { rule_id: 'hot-cpu', machine: 'api-m1', duration_s: 600 });
    expect(silenced.status).toBe(200);
    expect(silenced.body.silenced_until).toBeGreaterThan(Date.now() + 590_000);
    expect((await call('POST', '/api/alerts/silence', { rule_id: 'hot-cpu', machine: 'api-m1', duration_s: -1 })).body.error).toMatch(/^duration_s must be/);
    expect((await call('POST', '/api/alerts/silence', { rule_id: 'hot-cpu', machine: 'nobody', duration_s: 5 })).status).toBe(404);
    const now = (await call('GET', '/api/alerts?machine=api-m1')).body[0];
    expect(now).toMatchObject({ acknowledged: true, silenced_until: silenced.body.silenced_until });

    send(30);
    await waitFor('resolved', async () => (await call('GET', '/api/alerts?machine=api-m1')).body.length === 0);
    await waitFor('healthy again', async () => (await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m1').status === 'healthy');
    const history = await waitFor('history', async () => {
      const h = (await call('GET', '/api/alerts/history?machine=api-m1&rule_id=hot-cpu')).body;
      return h.length >= 4 && h;
    });
    expect(history.map((e: { state: string }) => e.state)).toEqual(['resolved', 'silenced', 'acknowledged', 'firing']);
    expect(history[3]).toMatchObject({ rule_id: 'hot-cpu', rule_name: 'CPU hot', machine: 'api-m1', severity: 'critical', value: 90 });
    expect(history[1].detail).toBe('notifications held back for 600 s');
    expect((await call('GET', '/api/alerts/history?limit=0')).status).toBe(400);
    expect((await call('GET', `/api/alerts/history?limit=1&before=${history[0].id}`)).body[0].id).toBeLessThan(history[0].id);
  });

  test('without any rule, status colours fall back to the thresholds', async () => {
    const s = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'api-m2');
    sessions.push(s);
    s.send(syntheticReport('api-m2', 1, Date.now(), 97));
    await waitFor('the machine', async () => (await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m2'));
    // Rules exist and none fires for 97 % CPU at once (the default waits 5 minutes): healthy.
    expect((await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m2').status).toBe('healthy');
    const saved = (await pool.query('SELECT * FROM alert_rules')).rows;
    for (const r of (await call('GET', '/api/rules')).body) expect((await call('DELETE', `/api/rules/${r.id}`)).status).toBe(204);
    await waitFor('threshold colour', async () => (await call('GET', '/api/machines')).body.find((m: { id: string }) => m.id === 'api-m2').status === 'critical');
    // Put the rules back for whoever runs next.
    for (const r of saved) {
      await pool.query(
        `INSERT INTO alert_rules (id, name, metric, op, threshold, for_s, clear_threshold, severity, repeat_s, mount, scope, channels) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
        [r.id, r.name, r.metric, r.op, r.threshold, r.for_s, r.clear_threshold, r.severity, r.repeat_s, r.mount, JSON.stringify(r.scope), JSON.stringify(r.channels)],
      );
    }
  });
});

describe('ConfigService over gRPC', () => {
  const client = () => createClient(ConfigService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${hub.grpcPort}` }));
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'ok';
    } catch (err) {
      return err instanceof ConnectError ? Code[err.code] : String(err);
    }
  };

  test('rule CRUD with the same validation and the admin token', async () => {
    const c = client();
    expect((await c.listRules({})).rules.length).toBeGreaterThanOrEqual(0);
    const rule = { name: 'grpc rule', metric: 'memory_percent', threshold: 95, severity: 'critical', scope: { machines: ['api-m1'], labels: {} } };
    expect(await codeOf(c.createRule({ rule }))).toBe('Unauthenticated');
    const created = (await c.createRule({ rule: { ...rule, id: 'grpc-1', clearThreshold: 90, channels: [{ ref: { case: 'channel', value: { type: 'slack', url: 'https://hooks.slack.com/services/a', secret: 'unused' } } }] } }, auth)).rule!;
    expect(created).toMatchObject({ id: 'grpc-1', name: 'grpc rule', metric: 'memory_percent', op: '>', threshold: 95, clearThreshold: 90, severity: 'critical' });
    expect(created.scope?.machines).toEqual(['api-m1']);
    expect(created.channels[0].ref).toEqual({ case: 'channel', value: expect.objectContaining({ type: 'slack', url: 'https://hooks.slack.com/services/a', hasSecret: true, secret: '' }) });
    const rest = (await call('GET', '/api/rules/grpc-1')).body;
    expect(rest).toMatchObject({ id: 'grpc-1', threshold: 95, clear_threshold: 90, scope: { machines: ['api-m1'] } });
    let err: ConnectError | undefined;
    try {
      await c.createRule({ rule: { name: 'bad', metric: 'memory_percent', threshold: 101 } }, auth);
    } catch (e) {
      err = e as ConnectError;
    }
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/^threshold must be between 0 and 100/);
    const updated = (await c.updateRule({ id: 'grpc-1', rule: { ...created, threshold: 97 } }, auth)).rule!;
    expect(updated.threshold).toBe(97);
    expect((await pool.query(`SELECT channels FROM alert_rules WHERE id = 'grpc-1'`)).rows[0].channels[0].secret).toBe('unused');
    expect(await codeOf(c.deleteRule({ id: 'grpc-1' }))).toBe('Unauthenticated');
    expect(await codeOf(c.deleteRule({ id: 'grpc-1' }, auth))).toBe('ok');
    expect(await codeOf(c.getRule({ id: 'grpc-1' }))).toBe('NotFound');
    expect((await c.listAlertHistory({ machine: 'api-m1', limit: 2 })).events.length).toBe(2);
    expect((await c.listDeadLetters({})).deadLetters).toEqual([]);
  });
});
