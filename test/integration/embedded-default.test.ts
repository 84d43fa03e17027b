// The one-command default, run the way a user runs it: `sysmonstm all` with no Redis and no database
// server (memory state, embedded upstream PGlite on the plain PostgreSQL path under DATA_DIR, a local
// collector). The machine shows up with live values, and history survives a restart of the hub.
import { hostname } from 'node:os';
import { afterAll, expect, test } from 'vitest';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';

const dir = tempDir('embedded');
let proc: CliProcess | undefined;

afterAll(async () => {
  await proc?.stop('SIGKILL');
  dir.remove();
});

test('sysmonstm all: this machine appears, and its history survives a restart', { timeout: 120_000 }, async () => {
  const env = {
    HTTP_PORT: String(await freePort()),
    GRPC_PORT: String(await freePort()),
    DATA_DIR: dir.path,
    COLLECTION_INTERVAL: '0.25',
    REDIS_URL: '',
    TIMESCALE_URL: '',
  };
  const api = `http://127.0.0.1:${env.HTTP_PORT}`;
  const expectedId = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128);

  proc = runCli(['all'], env);
  const machines = await waitFor(
    'this machine listed',
    async () => {
      const list = (await (await fetch(`${api}/api/machines`)).json()) as Array<{ id: string; metrics: Record<string, number> }>;
      return list.find((m) => m.id === expectedId) ? list : undefined;
    },
    45_000,
    250,
  ).catch((err) => {
    throw new Error(`${err.message}\n--- output ---\n${proc!.output()}`);
  });
  const me = machines.find((m) => m.id === expectedId)!;
  expect(me.metrics.cpu_percent).toBeGreaterThanOrEqual(0);
  expect(me.metrics.memory_percent).toBeGreaterThan(0);
  expect((await (await fetch(`${api}/health`)).json()).history).toBe('postgres');
  // The embedded default is upstream PGlite (PostgreSQL 18) on the plain path, with hub-maintained rollups.
  const info = (await (await fetch(`${api}/api/info`)).json()) as { history: string; database: Record<string, string> };
  expect(info.history).toBe('postgres');
  expect(info.database).toMatchObject({ kind: 'embedded', engine: '@electric-sql/pglite', path: 'postgres' });
  expect(info.database.version).toMatch(/^PostgreSQL 18\.\d+ \(PGlite 0\.5\.\d+\)$/);

  const history = async () =>
    (await (await fetch(`${api}/api/machines/${expectedId}/history?metric=memory_percent&step=raw&from=${Date.now() - 600_000}`)).json()) as { points: [number, number][] };
  const before = await waitFor('a few points of history', async () => ((await history()).points.length >= 4 ? (await history()).points : undefined), 20_000);

  expect(await proc.stop('SIGTERM')).toBe(0);
  expect(proc.output()).toMatch(/hub stopped/);

  proc = runCli(['hub'], env);
  const after = await waitFor('history after restart', async () => {
    const res = await fetch(`${api}/api/machines/${expectedId}/history?metric=memory_percent&step=raw&from=${Date.now() - 600_000}`).catch(() => undefined);
    return res?.ok ? ((await res.json()) as { points: [number, number][] }).points : undefined;
  }, 45_000, 250);
  const afterTimes = new Set(after.map(([t]) => t));
  for (const [t] of before) expect(afterTimes.has(t)).toBe(true);
  expect(await proc.stop('SIGTERM')).toBe(0);
});
