// hub/fleet/machine-settings.ts on a real PostgreSQL database (local server, a database of its own,
// migrated by schema/migrate.ts) and the settings routes of hub/gateway/http-app.ts through Hono's
// app.request: the default, an upsert, the table's CHECK as a second guard, the last known interval
// when the database is unreachable (a real pool on a closed port), and the REST answers (auth, body
// validation, Content-Type, 404, the push hook called with what was stored).
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPgClient, type SqlClient } from '../../../hub/db.ts';
import { createMachineSettingsStore, type MachineSettingsStore } from '../../../hub/fleet/machine-settings.ts';
import { createFleetQuery } from '../../../hub/fleet/fleet-query.ts';
import { createHttpApp } from '../../../hub/gateway/http-app.ts';
import type { HistoryStore } from '../../../hub/history/history-store.ts';
import { createMemoryState } from '../../../hub/state/memory-state.ts';
import { migrate } from '../../../schema/migrate.ts';
import type { MachineSettingsJson } from '../../../proto/machine-settings.ts';
import { createTestDatabase, freePort } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
const ADMIN = 'settings-unit-admin-token-0123456';

describe('machine settings: the SQL store and the REST routes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: SqlClient;
  let store: MachineSettingsStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = createPgClient(db.url, { log, maxConnections: 2 });
    await migrate(client);
    store = createMachineSettingsStore(client, log);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await db?.drop();
  });

  test('default 0, upsert, the CHECK of the table', async () => {
    expect(await store.get('st-a')).toEqual({ intervalMs: 0 });
    expect(await store.intervalFor('st-a')).toBe(0);
    await store.put('st-a', { intervalMs: 500 });
    await store.put('st-a', { intervalMs: 2000 });
    await store.put('st-b', { intervalMs: 100 });
    expect(await store.get('st-a')).toEqual({ intervalMs: 2000 });
    expect(await store.intervalFor('st-b')).toBe(100);
    // A second hub on the same database reads the same.
    expect(await createMachineSettingsStore(client, log).intervalFor('st-a')).toBe(2000);
    await expect(store.put('st-c', { intervalMs: 50 })).rejects.toThrow(/check constraint/i);
    await expect(store.put('st-c', { intervalMs: 3_600_001 })).rejects.toThrow(/check constraint/i);
  });

  test('an unreachable database: intervalFor answers what this hub last knew, never throws', async () => {
    const dead = createPgClient(`postgres://postgres@127.0.0.1:${await freePort()}/none`, { log, connectTimeoutMs: 2000, maxConnections: 1 });
    try {
      const offline = createMachineSettingsStore(dead, log);
      expect(await offline.intervalFor('st-a')).toBe(0);
      await expect(offline.get('st-a')).rejects.toThrow();
      // What a store read before is kept when its database goes away.
      const own = createPgClient(db.url, { log, maxConnections: 1 });
      const known = createMachineSettingsStore(own, log);
      expect(await known.intervalFor('st-a')).toBe(2000);
      await own.close();
      await expect(known.get('st-a')).rejects.toThrow();
      expect(await known.intervalFor('st-a')).toBe(2000);
      expect(await known.intervalFor('st-b')).toBe(0); // never read here
    } finally {
      await dead.close();
    }
  });

  test('GET/PUT /api/machines/{id}/settings through app.request', async () => {
    const state = createMemoryState();
    const t = Date.now();
    await state.put({ id: 'st-known', hostname: 'h', displayName: 'h', labels: {}, lastSeenMs: t, sampledAtMs: t, lastSeq: 1, intervalMs: 1000, metrics: {} as never }, new Uint8Array());
    const pushed: Array<[string, MachineSettingsJson]> = [];
    const app = createHttpApp({
      fleet: createFleetQuery({ state, history: { lastSeq: async () => 0 } as unknown as HistoryStore }),
      ready: async () => ({}),
      info: () => ({}),
      log,
      machines: {
        forget: async () => false,
        adminToken: ADMIN,
        settings: {
          known: async (id) => (await state.get(id)) !== undefined,
          get: store.get,
          put: async (id, s) => {
            await store.put(id, s);
            pushed.push([id, s]);
          },
        },
      },
    });
    const put = (id: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }) =>
      app.request(`/api/machines/${id}/settings`, { method: 'PUT', headers, body });

    const get = await app.request('/api/machines/st-known/settings');
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ intervalMs: 0 });
    expect((await app.request('/api/machines/st-unknown/settings')).status).toBe(404);

    const noAuth = await put('st-known', '{"intervalMs":500}', { 'content-type': 'application/json' });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await put('st-known', '{"intervalMs":500}', { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN}` })).status).toBe(400);
    const bad = await put('st-known', '{"intervalMs":50}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/between 100 and 3600000/);
    expect((await put('st-known', '{oops')).status).toBe(400);
    expect((await put('st-unknown', '{"intervalMs":500}')).status).toBe(404);
    expect(pushed).toEqual([]);

    const ok = await put('st-known', '{"intervalMs":750}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ intervalMs: 750 });
    expect(pushed).toEqual([['st-known', { intervalMs: 750 }]]);
    expect(await (await app.request('/api/machines/st-known/settings')).json()).toEqual({ intervalMs: 750 });
  });
});
