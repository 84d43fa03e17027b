// History API limits on the plain path, on the local PostgreSQL server and in the embedded default
// (upstream PGlite), with a machine that reported every 10 ms (21,000 raw rows in 210 s):
// `to`/`from` past year 9999 answer 400, not 500; an explicit raw step holds the documented 20,000
// point cap whatever the report spacing (the database counts, then the next tier answers); `auto` is
// thinned in the database (at most two rows per bucket leave it) and still shows the one peak.
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { openHistory } from '../../hub/history/open-history.ts';
import { MAX_EXPLICIT_POINTS, MAX_HISTORY_POINTS } from '../../hub/history/rollup-tier.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';

const ROWS = 21_000;
const SPACING_MS = 10;
const t0 = Date.now() - 3_600_000;
const t1 = t0 + ROWS * SPACING_MS;
const PEAK_AT = 12_345;
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.each([
  ['plain PostgreSQL', true],
  ['embedded PGlite (upstream)', false],
])('%s', (_name, plain) => {
  let hub: Hub;
  const api = (path: string) => `http://127.0.0.1:${hub.httpPort}${path}`;

  it('holds a dense machine: the store thins and caps in SQL', async () => {
    const dir = tempDir('history-limits');
    cleanups.push(() => dir.remove());
    let url: string | undefined;
    if (plain) {
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      url = db.url;
    }
    const { store, client } = await openHistory({ timescaleUrl: url, dataDir: dir.path, log: pino({ level: 'silent' }) });
    await client.query(
      `INSERT INTO metrics (time, machine_id, seq, cpu_percent)
       SELECT to_timestamp(($1::float8 + g * $2::float8) / 1000), 'dense-01', g, CASE WHEN g = $3 THEN 99 ELSE 10 END
         FROM generate_series(1, $4::int) g`,
      [t0, SPACING_MS, PEAK_AT, ROWS],
    );
    const all = await store.query('dense-01', 'cpu_percent', t0, t1, 'raw');
    expect(all).toHaveLength(ROWS);
    const capped = await store.query('dense-01', 'cpu_percent', t0, t1, 'raw', { maxPoints: 100 });
    expect(capped).toEqual(all.slice(0, 100));
    const bucketMs = Math.ceil((t1 - t0) / 99);
    const thinned = await store.query('dense-01', 'cpu_percent', t0, t1, 'raw', { bucketMs });
    expect(thinned.length).toBeLessThanOrEqual(2 * 101);
    expect(thinned.length).toBeGreaterThan(100);
    expect(Math.max(...thinned.map((p) => p[1]))).toBe(99);
    expect(thinned.map((p) => p[0])).toEqual([...thinned.map((p) => p[0])].sort((a, b) => a - b));
    await store.close();
    await client.close();

    hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: url }), { log: pino({ level: 'silent' }) });
    cleanups.push(() => hub.close());
  }, 120_000);

  it.each([
    [`to=253402300800000`, /to must be a time .* year 9999/],
    [`to=999999999999999`, /to must be a time/],
    [`from=253402300000000`, /from must be a time/],
    [`from=${t0}&to=9999999999999999`, /to must be a time/],
  ])('%s → 400, not 500', async (query, error) => {
    const res = await fetch(api(`/api/machines/dense-01/history?${query}`));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(error);
  });

  it('the last day of year 9999 is still a time: an empty answer, not 500', async () => {
    const res = await fetch(api(`/api/machines/dense-01/history?from=253402214300000&to=253402214400000&step=raw`));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { points: unknown[] }).points).toEqual([]);
  });

  it(`step=raw holds ${MAX_EXPLICIT_POINTS} points although the rows are 10 ms apart: the 1 m tier answers`, async () => {
    const res = await fetch(api(`/api/machines/dense-01/history?step=raw&from=${t0}&to=${t1}`));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { step: string; points: Array<[number, number]> };
    expect(body.points.length).toBeLessThanOrEqual(MAX_EXPLICIT_POINTS);
    expect(body.step).toBe('1m');
    // A short enough raw range is still raw.
    const short = (await (await fetch(api(`/api/machines/dense-01/history?step=raw&from=${t0}&to=${t0 + 10_000}`))).json()) as { step: string; points: unknown[] };
    expect(short).toMatchObject({ step: 'raw' });
    expect(short.points.length).toBe(1000);
  });

  it(`auto: at most ${MAX_HISTORY_POINTS} points, thinned in the database, the peak kept`, async () => {
    const res = await fetch(api(`/api/machines/dense-01/history?from=${t0}&to=${t1}`));
    const body = (await res.json()) as { step: string; points: Array<[number, number]> };
    expect(body.step).toBe('raw');
    expect(body.points.length).toBeLessThanOrEqual(MAX_HISTORY_POINTS);
    expect(body.points.length).toBeGreaterThan(MAX_HISTORY_POINTS / 2);
    expect(Math.max(...body.points.map((p) => p[1]))).toBe(99);
  });
});
