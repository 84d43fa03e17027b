// ACK_DELAY on a real hub (gRPC/HTTP2, history in the local PostgreSQL) with the collector's ingest
// client: durable reports are acked no sooner than the delay, the acks held back when the hub closes
// reach the collector before its stream ends, and across the restart every report lands in history
// exactly once and is acked.
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestClient, type IngestClient } from '../../collector/ingest-client.ts';
import { createReportBuffer } from '../../collector/report-buffer.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { createTestDatabase, freePort, tempDir, waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const dir = tempDir('ack-delay');
let hub: Hub | undefined;
let client: IngestClient | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});

afterAll(async () => {
  await client?.close();
  await hub?.close();
  await pool?.end();
  await db?.drop();
  dir.remove();
});

const rows = async (id: string) => {
  const r = await pool.query<{ n: string; d: string; max: string | null }>('SELECT count(*) n, count(DISTINCT seq) d, max(seq) max FROM metrics WHERE machine_id = $1', [id]);
  return { n: Number(r.rows[0].n), distinct: Number(r.rows[0].d), max: Number(r.rows[0].max ?? 0) };
};

describe('ACK_DELAY on a real hub', () => {
  it('holds acks back, sends the held ones when the hub closes, and loses nothing across a restart', async () => {
    const grpcPort = await freePort();
    const start = () =>
      startHub(
        parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: String(grpcPort), DATA_DIR: dir.path, TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05', ACK_DELAY: '8' }),
        { log },
      );
    hub = await start();
    const id = 'ack-delay-1';
    const buffer = createReportBuffer();
    let seq = 0;
    const sample = () => {
      seq++;
      buffer.push(syntheticReport(id, seq, Date.now()));
      client!.notify();
    };
    client = createIngestClient({
      hubUrl: `http://127.0.0.1:${grpcPort}`,
      hello: { machineId: id, hostname: id },
      buffer,
      log,
      onWelcome: () => {},
      onSettings: () => {},
      backoff: { baseMs: 50, maxMs: 200, healthyAfterMs: 10_000 },
    });
    client.start();
    await waitFor('connected', () => client!.connected);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) sample();
    await waitFor('5 rows durable', async () => (await rows(id)).n === 5);
    // Durable, but the ack is held (8 s): the collector still has all five.
    expect(performance.now() - t0).toBeLessThan(6000);
    expect(client.lastAckedSeq).toBe(0);
    expect(buffer.size).toBe(5);

    // The hub closes: the held ack goes out before the stream ends.
    await hub.close();
    hub = undefined;
    expect(client.lastAckedSeq).toBe(5);
    expect(buffer.size).toBe(0);

    // Reports sampled while the hub is away wait in the buffer and are sent after the restart.
    for (let i = 0; i < 3; i++) sample();
    hub = await start();
    for (let i = 0; i < 2; i++) sample();
    await waitFor('10 rows durable', async () => (await rows(id)).n === 10, 20_000);
    // A closing collector ends its stream: the hub sends the held ack then, not 8 s later.
    const closing = performance.now();
    await client.close();
    expect(performance.now() - closing).toBeLessThan(3000);
    client = undefined;
    expect(await rows(id)).toEqual({ n: 10, distinct: 10, max: 10 });
    expect(buffer.size).toBe(0);
  }, 60_000);
});
