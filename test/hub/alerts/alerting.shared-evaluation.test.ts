// Several hubs on one Redis (unique key prefix) and one PostgreSQL database: every report event is
// evaluated by exactly one hub (a Redis consumer group), an alert fires once — one alert_events row, one
// webhook — and both hubs show it and colour the machine. Then a crashed hub: stream entries it read but
// never acknowledged (a report event, and a transition in the outbox) are claimed with XAUTOCLAIM by a
// live hub and handled.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAlertStore } from '../../../hub/alerts/alert-store.ts';
import type { OutboxEntry } from '../../../hub/alerts/rule-state-store.ts';
import { verifySignature } from '../../../hub/alerts/notification.ts';
import { parseHubConfig } from '../../../hub/config.ts';
import { createPgClient } from '../../../hub/db.ts';
import { ensureGroup } from '../../../hub/events/redis-stream-group.ts';
import { startHub, type Hub } from '../../../hub/hub.ts';
import { migrate } from '../../../schema/migrate.ts';
import { startHttpReceiver, type HttpReceiver } from '../../support/http-receiver.ts';
import { createTestDatabase, redisPrefix, REDIS_URL, tempDir, waitFor } from '../../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../../support/synthetic-collector.ts';

const log = pino({ level: process.env.TEST_LOG ?? 'silent' });

function hubConfig(dataDir: string, dbUrl: string) {
  return parseHubConfig([], {
    // The receivers run on this machine (127.0.0.1).
    NOTIFY_ALLOW_PRIVATE: '1',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    DATA_DIR: dataDir,
    REDIS_URL,
    TIMESCALE_URL: dbUrl,
    HISTORY_FLUSH_INTERVAL: '0.05',
    ALERT_TICK_INTERVAL: '0.5',
    ALERT_CLAIM_IDLE: '1',
    NOTIFY_TIMEOUT: '2',
    NOTIFY_BACKOFF: '0.1',
  });
}

async function getJson(hub: Hub, path: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`);
  return res.json();
}

describe('two hubs on one Redis', () => {
  const keys = redisPrefix();
  const dirs = [tempDir('shared-a'), tempDir('shared-b')];
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let hubs: Hub[] = [];
  let receiver: HttpReceiver;
  const sessions: SyntheticSession[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    receiver = await startHttpReceiver();
    // One after the other: the second one's migration finds the schema in place.
    for (const dir of dirs) hubs.push(await startHub(hubConfig(dir.path, db.url), { log, redisPrefix: keys.prefix }));
  });
  afterAll(async () => {
    for (const s of sessions) await s.finish().catch(() => {});
    for (const h of hubs) await h.close();
    await receiver?.close();
    await pool?.end();
    await db?.drop();
    await keys.cleanup();
    for (const d of dirs) d.remove();
  });

  test('each event is evaluated by one hub, the alert fires once, and both hubs show it', async () => {
    const [a, b] = hubs;
    const res = await fetch(`http://127.0.0.1:${a.httpPort}/api/rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'shared-cpu',
        name: 'CPU hot (shared)',
        metric: 'cpu_percent',
        threshold: 50,
        clear_threshold: 40,
        for_s: 1,
        severity: 'critical',
        scope: { machines: ['sh-1', 'sh-2'] },
        channels: [{ type: 'webhook', url: `${receiver.url}/hook`, secret: 'shared-secret' }],
      }),
    });
    expect(res.status).toBe(201);
    // The other hub reloads its rules when it sees the version change (within about a second).
    await new Promise((r) => setTimeout(r, 1500));

    // sh-1 reports to hub A, sh-2 to hub B; both streams of events land on one Redis stream.
    const targets: Array<[string, Hub]> = [
      ['sh-1', a],
      ['sh-2', b],
    ];
    const REPORTS = 16;
    for (const [id, hub] of targets) sessions.push(openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, id));
    for (let seq = 1; seq <= REPORTS; seq++) {
      targets.forEach(([id], i) => sessions[i].send(syntheticReport(id, seq, Date.now(), 90)));
      await new Promise((r) => setTimeout(r, 150));
    }

    await waitFor('both alerts firing on hub A', async () => (await getJson(a, '/api/alerts')).filter((x: { state: string }) => x.state === 'firing').length === 2, 15_000);
    await waitFor('two firing webhooks', () => receiver.requests.filter((r) => JSON.parse(r.body).kind === 'firing').length >= 2, 15_000);
    // Let any duplicate that would come show up.
    await new Promise((r) => setTimeout(r, 1500));

    for (const hub of hubs) {
      const alerts = await getJson(hub, '/api/alerts');
      expect(alerts.map((x: { machine: string; state: string; severity: string }) => [x.machine, x.state, x.severity]).sort()).toEqual([
        ['sh-1', 'firing', 'critical'],
        ['sh-2', 'firing', 'critical'],
      ]);
      const machines = await getJson(hub, '/api/machines');
      expect(machines.filter((m: { id: string }) => m.id.startsWith('sh-')).map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([
        ['sh-1', 'critical'],
        ['sh-2', 'critical'],
      ]);
    }

    const { rows } = await pool.query(`SELECT machine_id, state, count(*)::int AS n FROM alert_events WHERE rule_id = 'shared-cpu' GROUP BY 1, 2 ORDER BY 1, 2`);
    expect(rows).toEqual([
      { machine_id: 'sh-1', state: 'firing', n: 1 },
      { machine_id: 'sh-1', state: 'pending', n: 1 },
      { machine_id: 'sh-2', state: 'firing', n: 1 },
      { machine_id: 'sh-2', state: 'pending', n: 1 },
    ]);
    const hooks = receiver.requests.map((r) => ({ r, body: JSON.parse(r.body) }));
    expect(hooks.map((h) => [h.body.machine, h.body.kind]).sort()).toEqual([
      ['sh-1', 'firing'],
      ['sh-2', 'firing'],
    ]);
    for (const h of hooks) expect(verifySignature('shared-secret', h.r.body, h.r.headers['x-sysmonstm-signature'] as string)).toBe(true);

    // Every event was evaluated exactly once across the two hubs (the consumer group split them).
    const sum = (pick: (h: Hub) => number) => hubs.map(pick).reduce((x, y) => x + y, 0);
    const evaluated = () => sum((h) => (h.stats().alerts as { evaluatedEvents: number }).evaluatedEvents);
    const accepted = () => sum((h) => (h.stats().ingest as { reportsAccepted: number }).reportsAccepted);
    await waitFor('all events evaluated', () => evaluated() >= accepted());
    expect(accepted()).toBe(2 * REPORTS);
    expect(evaluated()).toBe(accepted());
    const redis = new Redis(REDIS_URL);
    try {
      const consumers = (await redis.xinfo('CONSUMERS', `${keys.prefix}events`, 'alerts')) as unknown[][];
      expect(consumers.length).toBe(2);
      const pending = (await redis.xpending(`${keys.prefix}events`, 'alerts')) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    } finally {
      redis.disconnect();
    }

    // Resolving is once as well.
    for (let seq = REPORTS + 1; seq <= REPORTS + 4; seq++) {
      targets.forEach(([id], i) => sessions[i].send(syntheticReport(id, seq, Date.now(), 10)));
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor('resolved on hub B', async () => (await getJson(b, '/api/alerts')).length === 0, 10_000);
    await waitFor('two resolved webhooks', () => receiver.requests.filter((r) => JSON.parse(r.body).kind === 'resolved').length >= 2);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests.filter((r) => JSON.parse(r.body).kind === 'resolved').length).toBe(2);
    const resolvedRows = await pool.query(`SELECT count(*)::int AS n FROM alert_events WHERE rule_id = 'shared-cpu' AND state = 'resolved'`);
    expect(resolvedRows.rows[0].n).toBe(2);
  }, 60_000);

  test('offline needs the clock: one hub per tick evaluates it, so it fires once and resolves once', async () => {
    const [a, b] = hubs;
    const res = await fetch(`http://127.0.0.1:${b.httpPort}/api/rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'shared-offline',
        name: 'Silent (shared)',
        metric: 'offline',
        threshold: 2,
        severity: 'critical',
        scope: { machines: ['sh-1', 'sh-2'] },
        channels: [{ type: 'webhook', url: `${receiver.url}/offline` }],
      }),
    });
    expect(res.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1500));
    const ticksBefore = hubs.map((h) => (h.stats().alerts as { ticks: number }).ticks);
    const startedAt = Date.now();
    // Both machines go silent.
    for (const s of sessions.splice(0)) await s.finish();
    const offlineHooks = () => receiver.requests.filter((r) => r.path === '/offline').map((r) => JSON.parse(r.body));
    await waitFor('two offline webhooks', () => offlineHooks().filter((h) => h.kind === 'firing').length >= 2, 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    const elapsedTicks = Math.floor((Date.now() - startedAt) / 500);
    const ticks = hubs.map((h, i) => (h.stats().alerts as { ticks: number }).ticks - ticksBefore[i]);
    // One hub per 0.5 s tick, not both: together about one per slot (a slot may fall between the hubs' clocks).
    expect(ticks[0] + ticks[1]).toBeLessThanOrEqual(elapsedTicks + 2);
    expect(ticks[0] + ticks[1]).toBeGreaterThanOrEqual(elapsedTicks - 3);
    expect(offlineHooks().map((h) => [h.machine, h.kind]).sort()).toEqual([
      ['sh-1', 'firing'],
      ['sh-2', 'firing'],
    ]);
    expect(offlineHooks()[0].value).toBeGreaterThan(2);
    for (const hub of [a, b]) {
      const alerts = await getJson(hub, '/api/alerts');
      expect(alerts.filter((x: { rule_id: string }) => x.rule_id === 'shared-offline').map((x: { machine: string }) => x.machine).sort()).toEqual(['sh-1', 'sh-2']);
    }
    const { rows } = await pool.query(`SELECT machine_id, count(*)::int AS n FROM alert_events WHERE rule_id = 'shared-offline' AND state = 'firing' GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { machine_id: 'sh-1', n: 1 },
      { machine_id: 'sh-2', n: 1 },
    ]);

    // A report brings sh-1 back: resolved once.
    const back = openSyntheticSession(`http://127.0.0.1:${a.grpcPort}`, 'sh-1');
    sessions.push(back);
    back.send(syntheticReport('sh-1', 100, Date.now(), 10));
    await waitFor('sh-1 back', () => offlineHooks().some((h) => h.machine === 'sh-1' && h.kind === 'resolved'), 10_000);
    await new Promise((r) => setTimeout(r, 1200));
    expect(offlineHooks().filter((h) => h.kind === 'resolved').map((h) => h.machine)).toEqual(['sh-1']);
  }, 40_000);
});

describe('a hub that crashed with entries pending', () => {
  const keys = redisPrefix();
  const dir = tempDir('shared-claim');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let hub: Hub | undefined;
  let receiver: HttpReceiver;
  let redis: Redis;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    redis = new Redis(REDIS_URL);
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await hub?.close();
    await receiver?.close();
    redis?.disconnect();
    await pool?.end();
    await db?.drop();
    await keys.cleanup();
    dir.remove();
  });

  test('its report event and its unrecorded transition are claimed (XAUTOCLAIM) and handled by a live hub', async () => {
    // The database as a hub would leave it, with one rule.
    const client = createPgClient(db.url, { log });
    await migrate(client);
    await createAlertStore(client).insertRule({
      id: 'claim-cpu',
      name: 'CPU (claim test)',
      metric: 'cpu_percent',
      op: '>',
      threshold: 50,
      clear_threshold: 50,
      for_s: 0,
      severity: 'warning',
      scope: { machines: ['crash-m'] },
      channels: [{ type: 'webhook', url: `${receiver.url}/claimed` }],
      repeat_s: 0,
      mount: null,
    });
    await client.close();

    // A hub that read a report event and an outbox entry, then died before acknowledging either.
    const events = `${keys.prefix}events`;
    const outbox = `${keys.prefix}alerts:outbox`;
    await ensureGroup(redis, events, 'alerts', '$');
    await ensureGroup(redis, outbox, 'recorder', '0');
    const now = Date.now();
    const record = {
      id: 'crash-m',
      hostname: 'crash-m',
      displayName: 'crash-m',
      labels: {},
      lastSeenMs: now,
      sampledAtMs: now,
      lastSeq: 1,
      intervalMs: 1000,
      metrics: { cpu_percent: 95 },
    };
    await redis.xadd(events, '*', 'e', JSON.stringify({ record, receivedAtMs: now }));
    const lost: OutboxEntry = {
      id: randomUUID(),
      at: now - 5000,
      ruleId: 'claim-cpu',
      ruleName: 'CPU (claim test)',
      metric: 'cpu_percent',
      condition: 'cpu_percent > 50',
      machine: 'other-m',
      severity: 'warning',
      state: 'firing',
      notice: 'firing',
      value: 77,
      since: now - 5000,
      detail: null,
    };
    await redis.xadd(outbox, '*', 'e', JSON.stringify(lost));
    for (const [stream, group] of [
      [events, 'alerts'],
      [outbox, 'recorder'],
    ]) {
      const got = await redis.xreadgroup('GROUP', group, 'crashed-hub', 'COUNT', 10, 'STREAMS', stream, '>');
      expect(got).not.toBeNull();
    }
    expect(((await redis.xpending(events, 'alerts')) as [number])[0]).toBe(1);
    expect(((await redis.xpending(outbox, 'recorder')) as [number])[0]).toBe(1);

    // A live hub claims both once they have been idle for ALERT_CLAIM_IDLE (1 s).
    hub = await startHub(hubConfig(dir.path, db.url), { log, redisPrefix: keys.prefix });
    await waitFor('both claimed and handled', async () => {
      const { rows } = await pool.query(`SELECT machine_id, state FROM alert_events WHERE rule_id = 'claim-cpu' ORDER BY machine_id`);
      return rows.length === 2 && rows;
    }, 15_000);
    const { rows } = await pool.query(`SELECT machine_id, state, value, transition_id FROM alert_events WHERE rule_id = 'claim-cpu' ORDER BY machine_id`);
    expect(rows.map((r) => [r.machine_id, r.state, r.value])).toEqual([
      ['crash-m', 'firing', 95],
      ['other-m', 'firing', 77],
    ]);
    expect(rows[1].transition_id).toBe(lost.id);
    await waitFor('both webhooks', () => receiver.requests.length === 2);
    expect(receiver.requests.map((r) => JSON.parse(r.body).machine).sort()).toEqual(['crash-m', 'other-m']);
    await waitFor('nothing pending', async () => ((await redis.xpending(events, 'alerts')) as [number])[0] === 0 && ((await redis.xpending(outbox, 'recorder')) as [number])[0] === 0);
    expect((await getJson(hub, '/api/alerts')).filter((x: { rule_id: string }) => x.rule_id === 'claim-cpu').map((x: { machine: string }) => x.machine)).toEqual(['crash-m']);
  }, 40_000);
});
