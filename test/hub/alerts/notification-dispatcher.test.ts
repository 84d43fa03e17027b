// Real delivery from the SQL notification queue (local PostgreSQL) to local HTTP receivers: a signed
// webhook, a receiver that fails twice, one that never answers (timeouts, then a dead letter), a 4xx
// (dead at once), a closed port, a retried dead letter, and a transition recorded twice queueing its
// notification once. (The payloads themselves: notification.test.ts.)
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAlertStore, type AlertStore, type RecordInput } from '../../../hub/alerts/alert-store.ts';
import { startNotificationDispatcher, type NotificationDispatcher } from '../../../hub/alerts/notification-dispatcher.ts';
import { verifySignature } from '../../../hub/alerts/notification.ts';
import { createPgClient, type SqlClient } from '../../../hub/db.ts';
import { migrate } from '../../../schema/migrate.ts';
import { startHttpReceiver, type HttpReceiver } from '../../support/http-receiver.ts';
import { createTestDatabase, freePort, waitFor } from '../../support/servers.ts';
import { MESSAGE } from './alert-message.ts';

describe('delivery from the queue', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: SqlClient;
  let store: AlertStore;
  let dispatcher: NotificationDispatcher;
  const receivers: HttpReceiver[] = [];
  const log = pino({ level: 'silent' });
  let n = 0;

  const queue = async (url: string, type: 'webhook' | 'slack' | 'discord' | 'ntfy' = 'webhook', secret?: string, transitionId = `t-${++n}`): Promise<RecordInput> => {
    const input: RecordInput = {
      transitionId,
      timeMs: Date.now(),
      ruleId: 'r-cpu',
      ruleName: 'CPU hot',
      machine: `m-${n}`,
      state: 'firing',
      severity: 'critical',
      value: 97,
      detail: null,
      notifications: [{ dedupeKey: `${transitionId}:0`, channel: { type, url, ...(secret ? { secret } : {}) }, message: { ...MESSAGE, machine: `m-${n}` } }],
    };
    await store.record(input);
    dispatcher.nudge();
    return input;
  };
  const status = async (machine: string) =>
    (await client.query<{ status: string; attempts: number; last_error: string | null }>('SELECT status, attempts, last_error FROM alert_notifications WHERE machine_id = $1', [machine])).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase();
    client = createPgClient(db.url, { log });
    await migrate(client);
    store = createAlertStore(client);
    // A short circuit cool-down: the hanging receiver below is retried within the test's time.
    dispatcher = startNotificationDispatcher({ store, log, timeoutMs: 300, retries: 3, backoffMs: 50, pollIntervalMs: 100, circuit: { perDestination: 2, openAfter: 3, coolDownMs: 200 } });
  });
  afterAll(async () => {
    await dispatcher?.close();
    for (const r of receivers) await r.close();
    await client?.close();
    await db?.drop();
  });

  const receiver = async (b?: Parameters<typeof startHttpReceiver>[0]) => {
    const r = await startHttpReceiver(b);
    receivers.push(r);
    return r;
  };

  test('a signed webhook arrives once and is marked sent', async () => {
    const r = await receiver();
    const input = await queue(`${r.url}/hook`, 'webhook', 'shh');
    await waitFor('the webhook', () => r.requests.length === 1);
    const req = r.requests[0];
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hook');
    expect(req.headers['content-type']).toBe('application/json');
    expect(verifySignature('shh', req.body, req.headers['x-sysmonstm-signature'] as string)).toBe(true);
    expect(Number(req.headers['x-sysmonstm-timestamp'])).toBeGreaterThan(Date.now() - 10_000);
    expect(JSON.parse(req.body)).toMatchObject({ kind: 'firing', rule_id: 'r-cpu', machine: input.machine, severity: 'critical' });
    await waitFor('marked sent', async () => (await status(input.machine))?.status === 'sent');
    await new Promise((r2) => setTimeout(r2, 300));
    expect(r.requests.length).toBe(1);
  });

  test('a receiver failing twice gets the notification on the third attempt, with backoff between', async () => {
    const r = await receiver({ kind: 'fail-then-ok', failures: 2 });
    const input = await queue(`${r.url}/flaky`);
    await waitFor('three attempts', () => r.requests.length === 3, 10_000);
    await waitFor('marked sent', async () => (await status(input.machine))?.status === 'sent');
    expect((await status(input.machine)).attempts).toBe(3);
    const gaps = [r.requests[1].atMs - r.requests[0].atMs, r.requests[2].atMs - r.requests[1].atMs];
    expect(gaps[0]).toBeGreaterThanOrEqual(40);
    expect(gaps[1]).toBeGreaterThanOrEqual(90);
  });

  test('a receiver that never answers: each attempt times out, then the notification is a dead letter', async () => {
    const r = await receiver({ kind: 'hang' });
    const input = await queue(`${r.url}/void`);
    await waitFor('dead letter', async () => (await status(input.machine))?.status === 'dead', 15_000);
    expect(r.requests.length).toBe(4); // 1 + 3 retries
    const dead = (await store.deadLetters(100)).find((d) => d.machine === input.machine)!;
    expect(dead).toMatchObject({ kind: 'firing', rule_id: 'r-cpu', attempts: 4, channel: { type: 'webhook', url: `${r.url}/void` } });
    expect(dead.last_error).toMatch(/no answer within 300 ms/);
    expect(dead.message.machine).toBe(input.machine);
  });

  test('a 4xx is final: dead after one attempt; a retried dead letter is sent once the receiver is fixed', async () => {
    const r = await receiver({ kind: 'status', status: 404 });
    const input = await queue(`${r.url}/wrong`, 'slack');
    await waitFor('dead letter', async () => (await status(input.machine))?.status === 'dead');
    expect(r.requests.length).toBe(1);
    expect((await status(input.machine)).last_error).toMatch(/answered HTTP 404/);
    r.setBehaviour({ kind: 'ok' });
    const dead = (await store.deadLetters(100)).find((d) => d.machine === input.machine)!;
    expect(await store.retryDeadLetter(dead.id)).toBe(true);
    expect(await store.retryDeadLetter(dead.id)).toBe(false);
    dispatcher.nudge();
    await waitFor('sent after the retry', async () => (await status(input.machine))?.status === 'sent');
    expect(r.requests.length).toBe(2);
    expect(JSON.parse(r.requests[1].body).text).toContain('[FIRING]');
  });

  test('a closed port is retried, then dead-lettered; the dispatcher keeps working for others', async () => {
    const port = await freePort();
    const input = await queue(`http://127.0.0.1:${port}/nobody`, 'discord');
    const ok = await receiver();
    const other = await queue(`${ok.url}/fine`, 'ntfy');
    await waitFor('the other one sent', async () => (await status(other.machine))?.status === 'sent');
    await waitFor('dead letter', async () => (await status(input.machine))?.status === 'dead', 10_000);
    expect((await status(input.machine)).last_error).toMatch(/ECONNREFUSED/);
    expect(ok.requests[0].headers.title).toMatch(/^\[FIRING\] critical/);
    expect(ok.requests[0].headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  test('a transition recorded twice (redelivered after a crash) is stored and sent once', async () => {
    const r = await receiver();
    const input = await queue(`${r.url}/once`, 'webhook', undefined, 't-duplicate');
    expect(await store.record(input)).toBe(false);
    await waitFor('sent', async () => (await status(input.machine))?.status === 'sent');
    await new Promise((r2) => setTimeout(r2, 300));
    expect(r.requests.length).toBe(1);
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_events WHERE transition_id = 't-duplicate'`);
    expect(rows[0].n).toBe(1);
  });
});
