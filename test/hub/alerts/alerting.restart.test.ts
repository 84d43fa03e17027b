// Alert state across a restart of a real hub, on every storage path: embedded PGlite and the local
// PostgreSQL with the default memory state (kept in DATA_DIR/alert-state.json), and PostgreSQL with
// Redis. Before the restart an alert fires, is silenced and acknowledged, and an offline alert fires;
// after it, the alerts are still active with their silence and acknowledgement, the silenced alert
// sends no new webhook, and the offline alert gets its "resolved" when the machine is back.
// The same hubs show that a pending alert that never fired is neither stored nor logged at info, and
// that history averages come back rounded like the reported values.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../../hub/config.ts';
import { startHub, type Hub } from '../../../hub/hub.ts';
import { captureLog } from '../../support/test-log.ts';
import { startHttpReceiver, type HttpReceiver } from '../../support/http-receiver.ts';
import { createTestDatabase, REDIS_URL, redisPrefix, tempDir, waitFor } from '../../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../../support/synthetic-collector.ts';

const PATHS = [
  { label: 'embedded PGlite, memory state', database: false, redis: false },
  { label: 'PostgreSQL, memory state', database: true, redis: false },
  { label: 'PostgreSQL, Redis state', database: true, redis: true },
] as const;

describe.each(PATHS)('alert state across a restart ($label)', (where) => {
  const dir = tempDir('alert-restart');
  const keys = redisPrefix();
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let receiver: HttpReceiver;
  let hub: Hub;
  let logs: ReturnType<typeof captureLog>;
  const sessions: SyntheticSession[] = [];
  let seq = 0;

  async function start(): Promise<Hub> {
    const env: Record<string, string> = {
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      DATA_DIR: dir.path,
      HISTORY_FLUSH_INTERVAL: '0.05',
      ALERT_TICK_INTERVAL: '0.5',
      NOTIFY_BACKOFF: '0.1',
      NOTIFY_TIMEOUT: '2',
      NOTIFY_ALLOW_PRIVATE: '1', // the receiver runs on 127.0.0.1
    };
    if (db) env.TIMESCALE_URL = db.url;
    if (where.redis) env.REDIS_URL = REDIS_URL;
    logs = captureLog();
    return startHub(parseHubConfig([], env), { log: logs.log, ...(where.redis ? { redisPrefix: keys.prefix } : {}) });
  }

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  function report(machine: string, cpu: number): SyntheticSession {
    const session = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, machine);
    sessions.push(session);
    session.send(syntheticReport(machine, ++seq, Date.now(), cpu));
    return session;
  }

  const hooks = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as { kind: string; machine: string });

  beforeAll(async () => {
    if (where.database) db = await createTestDatabase();
    receiver = await startHttpReceiver();
    hub = await start();
  }, 60_000);

  afterAll(async () => {
    for (const s of sessions) await s.finish().catch(() => {});
    await hub?.close();
    await receiver?.close();
    await db?.drop();
    await keys.cleanup();
    dir.remove();
  });

  test('a pending alert that never fired is neither stored nor logged at info; one that fired is', async () => {
    const rule = { id: 'rs-slow', name: 'CPU slow', metric: 'cpu_percent', threshold: 80, clear_threshold: 70, for_s: 1, severity: 'warning', scope: { machines: ['rs-noise'] } };
    expect((await call('POST', '/api/rules', rule)).status).toBe(201);
    const s = report('rs-noise', 90);
    await waitFor('pending', async () => (await call('GET', '/api/alerts?machine=rs-noise')).body.some((a: { state: string }) => a.state === 'pending'));
    s.send(syntheticReport('rs-noise', ++seq, Date.now(), 10));
    await waitFor('back to ok', async () => (await call('GET', '/api/alerts?machine=rs-noise')).body.length === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('GET', '/api/alerts/history?machine=rs-noise')).body).toEqual([]);
    const transitions = () => logs.lines().filter((l) => l.machine === 'rs-noise' && (l.level as number) >= 30 && String(l.msg).startsWith('alert'));
    expect(transitions()).toEqual([]);
    expect(logs.lines().filter((l) => l.machine === 'rs-noise' && l.level === 20).map((l) => l.state)).toEqual(['pending', 'ok']);

    // Held past for_s: now the pending phase is recorded, before the firing.
    s.send(syntheticReport('rs-noise', ++seq, Date.now(), 90));
    await new Promise((r) => setTimeout(r, 1100));
    s.send(syntheticReport('rs-noise', ++seq, Date.now(), 91));
    const history = await waitFor('firing recorded', async () => {
      const h = (await call('GET', '/api/alerts/history?machine=rs-noise')).body;
      return h.length >= 2 && h;
    });
    expect(history.map((e: { state: string }) => e.state)).toEqual(['firing', 'pending']);
    expect(history[1].time).toBeLessThan(history[0].time);
    expect(transitions().map((l) => l.state)).toEqual(['pending', 'firing']);
    expect((await call('DELETE', '/api/rules/rs-slow')).status).toBe(204);
  }, 30_000);

  test('history averages are rounded like the reported values', async () => {
    const values = [10.1, 20.2, 30.33, 0.1, 0.2, 53.68, 53.69, 7.07];
    const s = report('rs-avg', values[0]);
    for (const v of values.slice(1)) s.send(syntheticReport('rs-avg', ++seq, Date.now(), v));
    const from = Date.now() - 120_000;
    const to = Date.now() + 60_000;
    const points = await waitFor('the minute average', async () => {
      const body = (await call('GET', `/api/machines/rs-avg/history?metric=cpu_percent&from=${from}&to=${to}&step=1m`)).body;
      const n = body.points?.length ? body.points : undefined;
      // All samples in the newest minute (a minute boundary may split them: then both buckets count).
      return n && (await call('GET', `/api/machines/rs-avg/history?metric=cpu_percent&from=${from}&to=${to}&step=raw`)).body.points.length === values.length ? n : undefined;
    });
    for (const [, v] of points) expect(v).toBe(Math.round(v * 100) / 100);
    if (points.length === 1) expect(points[0][1]).toBe(Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100);
  });

  test('active alerts, silences and acknowledgements survive the restart; the offline alert resolves', async () => {
    const cpuRule = { id: 'rs-cpu', name: 'CPU hot', metric: 'cpu_percent', threshold: 80, clear_threshold: 70, for_s: 0, severity: 'critical', repeat_s: 0, scope: { machines: ['rs-m1'] }, channels: [{ type: 'webhook', url: `${receiver.url}/cpu` }] };
    const offlineRule = { id: 'rs-offline', name: 'Gone', metric: 'offline', threshold: 2, clear_threshold: 2, for_s: 0, severity: 'warning', repeat_s: 0, scope: { machines: ['rs-m2'] }, channels: [{ type: 'webhook', url: `${receiver.url}/offline` }] };
    expect((await call('POST', '/api/rules', cpuRule)).status).toBe(201);
    expect((await call('POST', '/api/rules', offlineRule)).status).toBe(201);

    report('rs-m1', 90);
    await waitFor('the cpu webhook', () => hooks('/cpu').length === 1, 15_000);
    const silenced = await call('POST', '/api/alerts/silence', { rule_id: 'rs-cpu', machine: 'rs-m1', duration_s: 600 });
    expect(silenced.status).toBe(200);
    expect((await call('POST', '/api/alerts/acknowledge', { rule_id: 'rs-cpu', machine: 'rs-m1' })).status).toBe(200);

    const m2 = report('rs-m2', 10);
    await waitFor('rs-m2 known', async () => (await call('GET', '/api/machines')).body.some((m: { id: string }) => m.id === 'rs-m2'));
    await m2.finish();
    await waitFor('the offline webhook', () => hooks('/offline').length === 1, 15_000);
    const before = (await call('GET', '/api/alerts')).body.map((a: any) => [a.rule_id, a.machine, a.state, a.acknowledged, a.silenced_until]);

    for (const s of sessions.splice(0)) await s.finish().catch(() => {});
    await hub.close();
    hub = await start();

    const after = (await call('GET', '/api/alerts')).body.map((a: any) => [a.rule_id, a.machine, a.state, a.acknowledged, a.silenced_until]);
    expect(after).toEqual(before);
    expect(after).toEqual(
      expect.arrayContaining([
        ['rs-cpu', 'rs-m1', 'firing', true, silenced.body.silenced_until],
        ['rs-offline', 'rs-m2', 'firing', false, null],
      ]),
    );

    // Still hot and silenced: no new webhook. Back online: "resolved" goes out.
    report('rs-m1', 95);
    report('rs-m2', 10);
    await waitFor('the offline alert resolved', () => hooks('/offline').some((h) => h.kind === 'resolved'), 15_000);
    await waitFor('rs-m1 seen again', async () => (await call('GET', '/api/machines')).body.some((m: { id: string; cpu_percent?: number }) => m.id === 'rs-m1'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(hooks('/cpu').map((h) => h.kind)).toEqual(['firing']);
    expect(hooks('/offline').map((h) => h.kind)).toEqual(['firing', 'resolved']);
    const alerts = (await call('GET', '/api/alerts')).body;
    expect(alerts.map((a: { rule_id: string; machine: string }) => [a.rule_id, a.machine])).toContainEqual(['rs-cpu', 'rs-m1']);
    expect(alerts.find((a: { rule_id: string }) => a.rule_id === 'rs-offline')).toBeUndefined();
  }, 60_000);
});
