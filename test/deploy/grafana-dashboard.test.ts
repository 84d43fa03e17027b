// deploy/grafana/sysmonstm.json: up to date with its generator, well formed for Grafana, and every
// query really runs — Grafana's macros are expanded the way its PostgreSQL data source does, and each
// panel's SQL is executed against a migrated history on both paths (plain PostgreSQL on the local
// server, TimescaleDB with continuous aggregates in the embedded PGlite) holding 10 days of reports.
// Each time range must come from the tier the hub itself would use (raw ≤ 25 min, 1 min ≤ 25 h, 1 h
// beyond, and not a tier whose retention ended before the range starts).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildDashboard, DASHBOARD_FILE } from '../../deploy/grafana/build-dashboard.ts';
import type { SqlClient } from '../../hub/db.ts';
import type { HistoryRow, HistoryStore } from '../../hub/history/history-store.ts';
import { openHistory } from '../../hub/history/open-history.ts';
import { timescalePglite } from '../support/timescale-pglite.ts';
import { captureLog, row } from '../support/test-log.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';

interface Target {
  rawSql: string;
  format: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: string }> }; uid: string };
const sqlPanels = dashboard.panels.filter((p) => p.targets);
const MACHINES = ['graf-a', 'graf-b'];
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Grafana's PostgreSQL macros and this dashboard's variables, as the data source expands them. */
function render(sql: string, fromMs: number, toMs: number, machine = 'graf-a'): string {
  const t = (ms: number) => `'${new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')}'`;
  const out = sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, col: string) => `${col.trim()} BETWEEN ${t(fromMs)} AND ${t(toMs)}`)
    .replaceAll('$__timeFrom()', t(fromMs))
    .replaceAll('$__timeTo()', t(toMs))
    .replace(/\$\{?machine\}?/g, machine);
  const left = /\$[A-Za-z_{][\w}]*/.exec(out);
  if (left) throw new Error(`unexpanded macro or variable ${left[0]} in: ${sql.slice(0, 80)}`);
  return out;
}

describe('the dashboard file', () => {
  test('is what deploy/grafana/build-dashboard.ts generates (run it after editing)', () => {
    expect(dashboard).toEqual(JSON.parse(JSON.stringify(buildDashboard())));
  });

  test('is well formed: unique ids, panels in the 24-column grid, every query on the chosen data source', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    expect(sqlPanels.length).toBeGreaterThanOrEqual(15);
    for (const p of sqlPanels) {
      expect(p.datasource, p.title).toEqual({ type: 'grafana-postgresql-datasource', uid: '${datasource}' });
      for (const target of p.targets!) {
        expect(target.datasource, p.title).toEqual(p.datasource);
        expect(['time_series', 'table'], p.title).toContain(target.format);
      }
    }
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'grafana-postgresql-datasource' });
    expect(vars.machine).toMatchObject({ type: 'query' });
    // A fleet overview and a drill-down on the machine variable, reading both rollup tiers and raw rows.
    const allSql = sqlPanels.map((p) => p.targets![0].rawSql).join('\n');
    for (const table of ['metrics', 'metrics_1m', 'metrics_1h']) expect(allSql).toMatch(new RegExp(`FROM ${table}\\b`));
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Fleet', 'Machine: $machine']);
  });
});

/** 10 days at one report per 5 minutes, then the last 30 minutes at one per 10 s, for two machines. */
function history(nowMs: number): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const [m, machine] of MACHINES.entries()) {
    let seq = 0;
    const start = nowMs - 10 * DAY;
    for (let t = start; t < nowMs - 30 * MINUTE; t += 5 * MINUTE) rows.push(row(machine, ++seq, t, 10 + m * 20 + (seq % 30), { load_avg_1m: 0.5, network_recv_bytes_sec: 1000 }));
    for (let t = nowMs - 30 * MINUTE; t <= nowMs - 10_000; t += 10_000) rows.push(row(machine, ++seq, t, 10 + m * 20 + (seq % 30), { load_avg_1m: 0.5, network_recv_bytes_sec: 1000 }));
  }
  return rows;
}

describe.each(['postgres', 'pglite'] as const)('every panel query on %s', (kind) => {
  let client: SqlClient;
  let store: HistoryStore;
  let nowMs: number;
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    const { log } = captureLog();
    nowMs = Date.now();
    if (kind === 'postgres') {
      const db = await createTestDatabase();
      cleanup.push(() => db.drop());
      ({ store, client } = await openHistory({ timescaleUrl: db.url, dataDir: '/nonexistent', log }));
    } else {
      const dir = tempDir('grafana-pglite');
      cleanup.push(() => dir.remove());
      // The TimescaleDB path (continuous aggregates), on the TimescaleDB build of PGlite.
      ({ store, client } = await openHistory({ dataDir: dir.path, log, embeddedEngine: timescalePglite }));
    }
    cleanup.push(() => client.close(), () => store.close());
    await store.write(history(nowMs));
    if (kind === 'postgres') {
      await store.maintain(nowMs); // fills the rollup tables, applies retention
    } else {
      // The continuous aggregates, materialised as their refresh policies would have over 10 days.
      // (maintain() would also compress 9 days of chunks at once, which takes half a minute in WASM.)
      await client.query(`CALL refresh_continuous_aggregate('metrics_1m', NULL, NULL)`);
      await client.query(`CALL refresh_continuous_aggregate('metrics_1h', NULL, NULL)`);
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  const ranges: Array<[string, number, number, 'metrics' | 'metrics_1m' | 'metrics_1h']> = [
    ['last 15 minutes: raw rows', 15 * MINUTE, 0, 'metrics'],
    ['last 6 hours: 1-minute averages', 6 * 60 * MINUTE, 0, 'metrics_1m'],
    ['last 30 days: 1-hour averages', 30 * DAY, 0, 'metrics_1h'],
    ['15 minutes, 8 days ago (raw retention over): 1-minute averages', 15 * MINUTE, 8 * DAY, 'metrics_1m'],
    ['1 hour, 100 days ago (1 min retention over): 1-hour averages', 60 * MINUTE, 100 * DAY, 'metrics_1h'],
  ];

  test.each(ranges)('%s', async (_, spanMs, agoMs, table) => {
    const toMs = nowMs - agoMs;
    const fromMs = toMs - spanMs;
    const timeCol = table === 'metrics' ? 'time' : 'bucket';
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const expected = async (machine?: string) =>
      Number(
        (
          await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${table} WHERE ${machine ? 'machine_id = $3 AND ' : ''}${timeCol} BETWEEN $1::timestamptz AND $2::timestamptz`,
            machine ? [iso(fromMs), iso(toMs), machine] : [iso(fromMs), iso(toMs)],
          )
        ).rows[0].n,
      );
    for (const panel of sqlPanels) {
      const target = panel.targets![0];
      let rows: Array<Record<string, unknown>>;
      try {
        rows = (await client.query<Record<string, unknown>>(render(target.rawSql, fromMs, toMs))).rows;
      } catch (err) {
        throw new Error(`panel "${panel.title}": ${(err as Error).message}`);
      }
      if (target.format !== 'time_series') continue;
      // Grafana's time series format: a "time" column first, ascending.
      const times = rows.map((r) => new Date(r.time as string | Date).getTime());
      expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= times[i - 1])), panel.title).toBe(true);
      if (panel.title === 'CPU %') expect(rows.length, `${panel.title} from ${table}`).toBe(await expected('graf-a'));
      if (panel.title === 'CPU % by machine' && table !== 'metrics') {
        expect(rows.length, `${panel.title} from ${table}`).toBe(await expected());
        if (rows.length) expect(new Set(rows.map((r) => r.metric))).toEqual(new Set(MACHINES));
      }
    }
    if (agoMs < 30 * DAY) expect(await expected('graf-a'), 'the range holds data').toBeGreaterThan(0);
  });

  test('the values are the stored ones: the fleet table and the machine variable', async () => {
    const fleetNow = sqlPanels.find((p) => p.title === 'Fleet now')!;
    const rows = (await client.query<Record<string, unknown>>(render(fleetNow.targets![0].rawSql, nowMs - DAY, nowMs))).rows;
    expect(rows.map((r) => r.machine)).toEqual(MACHINES);
    const last = history(nowMs).filter((r) => r.machineId === 'graf-b').at(-1)!;
    expect(Number(rows[1]['CPU %'])).toBe(last.metrics.cpu_percent);
    const machineVar = dashboard.templating.list.find((v) => v.name === 'machine')!;
    const machines = (await client.query<{ machine_id: string }>(render(machineVar.query, nowMs - 30 * DAY, nowMs))).rows.map((r) => r.machine_id);
    expect(machines).toEqual(MACHINES);
    const reporting = sqlPanels.find((p) => p.title === 'Machines known')!;
    expect(Number(Object.values((await client.query<Record<string, unknown>>(render(reporting.targets![0].rawSql, nowMs - DAY, nowMs))).rows[0])[0])).toBe(2);
  });
});
