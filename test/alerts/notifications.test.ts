// Notifications: the payload of each channel type (pure), then real delivery from the SQL queue
// (local PostgreSQL) to local HTTP receivers: a signed webhook, a receiver that fails twice, one that
// never answers (timeouts, then a dead letter), a 4xx (dead at once), a closed port, a retried dead
// letter, and a transition recorded twice queueing its notification once.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAlertStore, type AlertStore, type RecordInput } from '../../hub/alerts/alert-store.ts';
import { startNotificationDispatcher, type NotificationDispatcher } from '../../hub/alerts/notification-dispatcher.ts';
import {
  escapeSlack,
  headerText,
  isRetryable,
  renderNotification,
  retryDelayMs,
  SIGNATURE_HEADER,
  signBody,
  TIMESTAMP_HEADER,
  verifySignature,
  type AlertMessage,
} from '../../hub/alerts/notification.ts';
import { createPgClient, type SqlClient } from '../../hub/db.ts';
import { migrate } from '../../schema/migrate.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.ts';
import { createTestDatabase, freePort, waitFor } from '../support/servers.ts';

const MESSAGE: AlertMessage = {
  kind: 'firing',
  rule_id: 'r-cpu',
  rule_name: 'CPU hot <!channel> @everyone',
  metric: 'cpu_percent',
  condition: 'cpu_percent > 90 for 300 s',
  severity: 'critical',
  machine: 'web-01',
  value: 97.123,
  since: 1_700_000_000_000,
  at: 1_700_000_300_000,
};

describe('channel payloads', () => {
  test('webhook: JSON body signed with HMAC-SHA256 over the raw body, timestamp header', () => {
    const req = renderNotification({ type: 'webhook', url: 'https://h.example/x', secret: 'topsecret' }, MESSAGE, 1_700_000_301_000);
    const body = JSON.parse(req.body);
    expect(body).toEqual({ version: 1, ...MESSAGE, sent_at: 1_700_000_301_000 });
    expect(req.headers[TIMESTAMP_HEADER]).toBe('1700000301000');
    expect(req.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(req.headers[SIGNATURE_HEADER]).toBe(signBody('topsecret', req.body));
    expect(verifySignature('topsecret', req.body, req.headers[SIGNATURE_HEADER])).toBe(true);
    expect(verifySignature('other', req.body, req.headers[SIGNATURE_HEADER])).toBe(false);
    expect(verifySignature('topsecret', req.body + ' ', req.headers[SIGNATURE_HEADER])).toBe(false);
    // No secret, no signature.
    expect(renderNotification({ type: 'webhook', url: 'https://h.example/x' }, MESSAGE, 1).headers[SIGNATURE_HEADER]).toBeUndefined();
  });

  test('slack: {text} with <, > and & escaped so a name cannot ping a channel', () => {
    const req = renderNotification({ type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }, MESSAGE, 1);
    const { text } = JSON.parse(req.body);
    expect(text).toContain('[FIRING] critical CPU hot &lt;!channel&gt; @everyone on web-01');
    expect(text).toContain('value 97.1 %');
    expect(text).not.toContain('<!channel>');
    expect(escapeSlack('a&b<c>')).toBe('a&amp;b&lt;c&gt;');
  });

  test('discord: {content} with mentions disabled, at most 2000 characters', () => {
    const long = { ...MESSAGE, rule_name: 'x'.repeat(3000) };
    const body = JSON.parse(renderNotification({ type: 'discord', url: 'https://discord.com/api/webhooks/1/x' }, long, 1).body);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content.length).toBe(2000);
  });

  test('ntfy: text body, Title/Priority/Tags headers, RFC 2047 title when not ASCII, token as bearer', () => {
    const req = renderNotification({ type: 'ntfy', url: 'https://ntfy.sh/ops', secret: 'tk_abc' }, MESSAGE, 1);
    expect(req.headers.Title).toBe('[FIRING] critical CPU hot <!channel> @everyone on web-01');
    expect(req.headers.Priority).toBe('5');
    expect(req.headers.Tags).toBe('rotating_light');
    expect(req.headers.Authorization).toBe('Bearer tk_abc');
    expect(req.body).toMatch(/^value 97\.1 % \(rule: cpu_percent > 90 for 300 s\), firing since 2023-11-14T22:13:20\.000Z\.$/);
    const resolved = renderNotification({ type: 'ntfy', url: 'https://ntfy.sh/ops' }, { ...MESSAGE, kind: 'resolved', rule_name: 'Température ☀' }, 1);
    expect(resolved.headers.Priority).toBe('3');
    expect(resolved.headers.Tags).toBe('white_check_mark');
    expect(resolved.headers.Title).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(resolved.headers.Title.slice(10, -2), 'base64').toString('utf8')).toBe('[RESOLVED] Température ☀ on web-01');
    expect(headerText('a\r\nb')).toBe('a b');
  });

  test('retry schedule and retryable failures', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, 1000)).toBe(15 * 60_000);
    expect([undefined, 500, 503, 408, 429].map(isRetryable)).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 410].map(isRetryable)).toEqual([false, false, false, false, false]);
  });
});

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
    dispatcher = startNotificationDispatcher({ store, log, timeoutMs: 300, retries: 3, backoffMs: 50, pollIntervalMs: 100 });
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
