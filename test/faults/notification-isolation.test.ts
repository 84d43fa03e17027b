// One dead receiver must not delay the others, and notifications must not reach into the owner's
// network. Real delivery from the SQL queue (local PostgreSQL) to real HTTP receivers on 127.0.0.1:
// a receiver that hangs next to a healthy one (the healthy one's latency is measured), the circuit
// that opens for the hanging one and closes after its cool-down; then the private-range refusal,
// with literal addresses and with names answered by an injected resolver (no traffic leaves the
// machine, no real DNS is asked), at channel/rule creation over REST and again at send time.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertStore, type AlertStore, type RecordInput } from '../../hub/alerts/alert-store.ts';
import { startNotificationDispatcher, type NotificationDispatcher } from '../../hub/alerts/notification-dispatcher.ts';
import { createDestinationGuard, isPrivateAddress, type Resolve } from '../../hub/alerts/notify-destination.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { createPgClient, type SqlClient } from '../../hub/db.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { migrate } from '../../schema/migrate.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';

const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
/** A resolver that knows a few test names and nothing else: the tests never ask real DNS. */
const NAMES: Record<string, string[]> = {
  'internal.example.test': ['10.0.0.5'],
  'metadata.example.test': ['169.254.169.254'],
  'mixed.example.test': ['93.184.216.34', '192.168.1.1'],
  'public.example.test': ['93.184.216.34', '2606:4700::1111'],
  'rebound.example.test': ['127.0.0.1'],
};
const resolve: Resolve = async (hostname) => {
  const found = NAMES[hostname];
  if (!found) throw Object.assign(new Error(`test resolver: no ${hostname}`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: SqlClient;
let store: AlertStore;
const receivers: HttpReceiver[] = [];
const dispatchers: NotificationDispatcher[] = [];
let n = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  client = createPgClient(db.url, { log });
  await migrate(client);
  store = createAlertStore(client);
});
afterAll(async () => {
  for (const d of dispatchers) await d.close();
  for (const r of receivers) await r.close();
  await client?.close();
  await db?.drop();
});

async function queue(url: string, dispatcher: NotificationDispatcher): Promise<{ machine: string; queuedAtMs: number }> {
  const transitionId = `iso-${++n}`;
  const machine = `iso-m-${n}`;
  const input: RecordInput = {
    transitionId,
    timeMs: Date.now(),
    ruleId: 'r-cpu',
    ruleName: 'CPU hot',
    machine,
    state: 'firing',
    severity: 'critical',
    value: 97,
    detail: null,
    notifications: [
      {
        dedupeKey: `${transitionId}:0`,
        channel: { type: 'webhook', url },
        message: { kind: 'firing', rule_id: 'r-cpu', rule_name: 'CPU hot', metric: 'cpu_percent', condition: 'cpu_percent > 90', severity: 'critical', machine, value: 97, since: 1, at: 2 },
      },
    ],
  };
  const queuedAtMs = Date.now();
  await store.record(input);
  dispatcher.nudge();
  return { machine, queuedAtMs };
}
const statusOf = async (machine: string) =>
  (await client.query<{ status: string; attempts: number; last_error: string | null }>('SELECT status, attempts, last_error FROM alert_notifications WHERE machine_id = $1', [machine])).rows[0];

describe('a hanging receiver next to a healthy one', () => {
  it('the healthy channel is served within its own latency; the hanging one holds 2 sends at most, then its circuit opens and later closes', async () => {
    const hanging = await startHttpReceiver({ kind: 'hang' });
    const healthy = await startHttpReceiver({ kind: 'ok' });
    receivers.push(hanging, healthy);
    const dispatcher = startNotificationDispatcher({
      store,
      log,
      timeoutMs: 1500,
      retries: 10,
      backoffMs: 100,
      pollIntervalMs: 100,
      circuit: { perDestination: 2, openAfter: 3, coolDownMs: 2000 },
    });
    dispatchers.push(dispatcher);
    const stuck: Array<{ machine: string; queuedAtMs: number }> = [];
    for (let i = 0; i < 20; i++) stuck.push(await queue(`${hanging.url}/hook`, dispatcher));
    await new Promise((r) => setTimeout(r, 200));
    const healthyJobs: Array<{ machine: string; queuedAtMs: number }> = [];
    for (let i = 0; i < 10; i++) {
      healthyJobs.push(await queue(`${healthy.url}/hook`, dispatcher));
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor('every healthy notification', () => healthy.requests.length === 10, 10_000, 20);
    const latencies = healthyJobs
      .map((j) => healthy.requests.find((r) => JSON.parse(r.body).machine === j.machine)!.atMs - j.queuedAtMs)
      .sort((a, b) => a - b);
    console.log(`healthy channel latency next to a hanging one: median ${latencies[5]} ms, max ${latencies[9]} ms (timeout 1500 ms)`);
    expect(latencies[9]).toBeLessThan(1000);
    expect(latencies[5]).toBeLessThan(400);

    // The hanging receiver never held more than 2 requests at once, and after 3 timeouts it rests.
    await new Promise((r) => setTimeout(r, 3000));
    const early = hanging.requests.length;
    expect(early).toBeLessThanOrEqual(2 + 2 + 1);
    expect(dispatcher.stats.deferred).toBeGreaterThan(0);
    // Nothing was spent on the held-back notifications: most have not used an attempt.
    const attempts = await Promise.all(stuck.map((s) => statusOf(s.machine)));
    expect(attempts.filter((a) => a.attempts === 0).length).toBeGreaterThanOrEqual(14);

    // The receiver comes back: after the cool-down one trial goes through, the circuit closes, all arrive.
    hanging.setBehaviour({ kind: 'ok' });
    await waitFor('every held-back notification sent', async () => (await Promise.all(stuck.map((s) => statusOf(s.machine)))).every((s) => s.status === 'sent'), 20_000, 200);
    // Stopped here: it has no destination guard, and the queue is shared with the tests below.
    await dispatcher.close();
  }, 40_000);
});

describe('private destinations (NOTIFY_ALLOW_PRIVATE unset)', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.0.10', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['93.184.216.34', false],
    ['8.8.8.8', false],
    ['::1', true],
    ['::', true],
    ['[::1]', true],
    ['fe80::1', true],
    ['fd12:3456::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:93.184.216.34', false],
    ['64:ff9b::a9fe:a9fe', true],
    ['2002:c0a8:0101::1', true],
    ['2606:4700::1111', false],
    ['not an address', true],
  ])('%s → private %s', (address, expected) => expect(isPrivateAddress(address)).toBe(expected));

  let hub: Hub;
  const dir = tempDir('notify-private');
  beforeAll(async () => {
    hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: db.url }), { log, notifyResolve: resolve });
  });
  afterAll(async () => {
    await hub?.close();
    dir.remove();
  });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };

  it.each([
    'http://127.0.0.1:9/hook',
    'http://localhost:9/hook',
    'http://2130706433/hook', // 127.0.0.1 as one number
    'http://0x7f.1/hook',
    'http://[::1]:9/hook',
    'http://[::ffff:7f00:1]/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://internal.example.test/hook',
    'http://metadata.example.test/hook',
    'http://mixed.example.test/hook',
  ])('a channel to %s is refused (400)', async (url) => {
    const res = await post('/api/channels', { name: 'x', type: 'webhook', url });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/loopback, link-local or private address .*NOTIFY_ALLOW_PRIVATE/);
  });

  it('a rule with an inline private channel is refused; public names are accepted (nothing is sent)', async () => {
    const rule = (url: string, id: string) => ({ id, name: id, metric: 'cpu_percent', threshold: 90, channels: [{ type: 'webhook', url }] });
    const refused = await post('/api/rules', rule('http://10.0.0.7/hook', 'private-rule'));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/channels\[0\]\.url: 10\.0\.0\.7 points at a loopback/);
    expect((await post('/api/rules', rule('https://public.example.test/hook', 'public-rule'))).status).toBe(201);
    expect((await post('/api/channels', { name: 'pub', type: 'webhook', url: 'https://public.example.test/hook' })).status).toBe(201);
  });

  it('at send time, after name resolution: a name that now resolves to loopback is refused, nothing reaches the receiver', async () => {
    const receiver = await startHttpReceiver({ kind: 'ok' });
    receivers.push(receiver);
    const port = new URL(receiver.url).port;
    const dispatcher = startNotificationDispatcher({ store, log, timeoutMs: 1000, retries: 3, backoffMs: 50, pollIntervalMs: 100, destinations: createDestinationGuard({ allowPrivate: false, resolve }) });
    dispatchers.push(dispatcher);
    const byName = await queue(`http://rebound.example.test:${port}/hook`, dispatcher);
    const literal = await queue(`${receiver.url}/hook`, dispatcher);
    await waitFor('both dead', async () => (await statusOf(byName.machine))?.status === 'dead' && (await statusOf(literal.machine))?.status === 'dead', 10_000);
    expect((await statusOf(byName.machine)).last_error).toMatch(/rebound\.example\.test resolves to 127\.0\.0\.1.*NOTIFY_ALLOW_PRIVATE/);
    expect((await statusOf(byName.machine)).attempts).toBe(1);
    expect((await statusOf(literal.machine)).last_error).toMatch(/127\.0\.0\.1 is a private address/);
    expect(receiver.requests).toHaveLength(0);
    // With NOTIFY_ALLOW_PRIVATE=1 the same destination is served.
    const open = startNotificationDispatcher({ store, log, timeoutMs: 1000, retries: 3, backoffMs: 50, pollIntervalMs: 100, destinations: createDestinationGuard({ allowPrivate: true, resolve }) });
    dispatchers.push(open);
    await dispatcher.close();
    const allowed = await queue(`${receiver.url}/hook`, open);
    await waitFor('sent when allowed', async () => (await statusOf(allowed.machine))?.status === 'sent', 10_000);
    expect(receiver.requests).toHaveLength(1);
  });
});
