// Builds deploy/grafana/sysmonstm.json, the Grafana dashboard on the hub's TimescaleDB (or plain
// PostgreSQL) history: a fleet overview and a machine drill-down. Run `node deploy/grafana/build-dashboard.ts`
// after changing this file; test/deploy/grafana-dashboard.test.ts fails when the JSON is out of date and
// runs every query against a migrated database (both history paths).
//
// Tiers follow the hub's own rule (hub/history/rollup-tier.ts): raw rows for ranges up to 25 minutes,
// 1-minute averages up to 25 hours, 1-hour averages beyond — and a tier whose default retention (raw 7 d,
// 1 min 90 d) does not reach back to the start of the range is skipped. The choice is made once per
// query in SQL, so the branches not chosen are never scanned.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sysmonstm.json');
const DATASOURCE = { type: 'grafana-postgresql-datasource', uid: '${datasource}' };

const RANGE = `($__timeTo()::timestamptz - $__timeFrom()::timestamptz)`;
const TIER = `WITH tier AS (
  SELECT CASE
    WHEN ${RANGE} <= interval '25 minutes' AND $__timeFrom()::timestamptz >= now() - interval '7 days' THEN 'raw'
    WHEN ${RANGE} <= interval '25 hours' AND $__timeFrom()::timestamptz >= now() - interval '90 days' THEN '1m'
    ELSE '1h'
  END AS step
)`;

type Tier = 'raw' | '1m' | '1h';
const TABLE: Record<Tier, { table: string; time: string }> = {
  raw: { table: 'metrics', time: 'time' },
  '1m': { table: 'metrics_1m', time: 'bucket' },
  '1h': { table: 'metrics_1h', time: 'bucket' },
};

/** One machine's series from the tier the range calls for. `columns(tier)` lists `expr AS "Legend"`. */
function machineSeries(columns: (tier: Tier) => string[]): string {
  const branch = (tier: Tier) => {
    const { table, time } = TABLE[tier];
    return `SELECT ${time} AS "time", ${columns(tier).join(', ')}
FROM ${table}
WHERE (SELECT step FROM tier) = '${tier}' AND machine_id = '$machine' AND $__timeFilter(${time})`;
  };
  return `${TIER}
${branch('raw')}
UNION ALL
${branch('1m')}
UNION ALL
${branch('1h')}
ORDER BY 1`;
}

/** Fleet panels read 1-minute averages up to 25 hours (within their retention), 1-hour averages beyond. */
const SHORT_RANGE = `${RANGE} <= interval '25 hours' AND $__timeFrom()::timestamptz >= now() - interval '90 days'`;

/** Every machine's series of one expression (legend: the machine id), from 1-minute or 1-hour averages. */
function fleetSeries(expr: string): string {
  const branch = (tier: '1m' | '1h', condition: string) => `SELECT bucket AS "time", machine_id AS metric, ${expr} AS value
FROM ${TABLE[tier].table}
WHERE ${condition} AND $__timeFilter(bucket)`;
  return `${branch('1m', SHORT_RANGE)}
UNION ALL
${branch('1h', `NOT (${SHORT_RANGE})`)}
ORDER BY 1, 2`;
}

interface PanelSpec {
  title: string;
  type: 'timeseries' | 'stat' | 'table' | 'bargauge' | 'row';
  sql?: string;
  format?: 'time_series' | 'table';
  unit?: string;
  w: number;
  h: number;
  description?: string;
  max?: number;
  extra?: Record<string, unknown>;
}

const FLEET: PanelSpec[] = [
  { title: 'Fleet', type: 'row', w: 24, h: 1 },
  {
    title: 'Machines reporting',
    type: 'stat',
    description: 'Machines with a report in the last minute.',
    sql: `SELECT count(DISTINCT machine_id) AS "reporting" FROM metrics WHERE time > now() - interval '1 minute'`,
    format: 'table',
    w: 4,
    h: 5,
  },
  {
    title: 'Machines known',
    type: 'stat',
    description: 'Machines with any report in the last 24 hours.',
    sql: `SELECT count(DISTINCT machine_id) AS "known" FROM metrics_1m WHERE bucket > now() - interval '24 hours'`,
    format: 'table',
    w: 4,
    h: 5,
  },
  {
    title: 'Reports per minute (fleet)',
    type: 'stat',
    description: 'Reports stored during the last complete minute, all machines.',
    sql: `SELECT count(*) AS "reports" FROM metrics WHERE time >= date_trunc('minute', now()) - interval '1 minute' AND time < date_trunc('minute', now())`,
    format: 'table',
    w: 4,
    h: 5,
  },
  {
    title: 'Busiest machines (average CPU over the range)',
    type: 'bargauge',
    sql: `SELECT machine_id AS "machine", avg(cpu_percent) AS "CPU %"
FROM (
  SELECT machine_id, cpu_percent FROM metrics_1m WHERE ${SHORT_RANGE} AND $__timeFilter(bucket)
  UNION ALL
  SELECT machine_id, cpu_percent FROM metrics_1h WHERE NOT (${SHORT_RANGE}) AND $__timeFilter(bucket)
) AS points
GROUP BY machine_id
ORDER BY 2 DESC
LIMIT 10`,
    format: 'table',
    unit: 'percent',
    max: 100,
    w: 12,
    h: 5,
    extra: { options: { displayMode: 'gradient', orientation: 'horizontal', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: true } } },
  },
  {
    title: 'Fleet now',
    type: 'table',
    description: 'The latest report of every machine heard from in the last hour.',
    sql: `SELECT DISTINCT ON (machine_id)
  machine_id AS "machine", time AS "last report", cpu_percent AS "CPU %", memory_percent AS "memory %",
  disk_percent AS "disk %", load_avg_1m AS "load 1m", network_recv_bytes_sec AS "net in B/s",
  network_sent_bytes_sec AS "net out B/s", temperature_c AS "temp °C", uptime_seconds AS "uptime s"
FROM metrics
WHERE time > now() - interval '1 hour'
ORDER BY machine_id, time DESC`,
    format: 'table',
    w: 24,
    h: 8,
  },
  { title: 'CPU % by machine', type: 'timeseries', sql: fleetSeries('cpu_percent'), format: 'time_series', unit: 'percent', max: 100, w: 12, h: 8 },
  { title: 'Memory % by machine', type: 'timeseries', sql: fleetSeries('memory_percent'), format: 'time_series', unit: 'percent', max: 100, w: 12, h: 8 },
  { title: 'Fullest disk % by machine', type: 'timeseries', sql: fleetSeries('disk_percent'), format: 'time_series', unit: 'percent', max: 100, w: 12, h: 8 },
  {
    title: 'Fleet network (sum of machines)',
    type: 'timeseries',
    sql: `SELECT bucket AS "time", sum(network_recv_bytes_sec) AS "received", sum(network_sent_bytes_sec) AS "sent"
FROM metrics_1m
WHERE ${SHORT_RANGE} AND $__timeFilter(bucket)
GROUP BY 1
UNION ALL
SELECT bucket AS "time", sum(network_recv_bytes_sec) AS "received", sum(network_sent_bytes_sec) AS "sent"
FROM metrics_1h
WHERE NOT (${SHORT_RANGE}) AND $__timeFilter(bucket)
GROUP BY 1
ORDER BY 1`,
    format: 'time_series',
    unit: 'Bps',
    w: 12,
    h: 8,
  },
];

const MACHINE: PanelSpec[] = [
  { title: 'Machine: $machine', type: 'row', w: 24, h: 1 },
  {
    title: 'CPU %',
    type: 'timeseries',
    description: 'Average per point; "peak" is the highest sample inside a rollup bucket.',
    sql: machineSeries((t) => [
      `cpu_percent AS "total"`,
      `cpu_user_percent AS "user"`,
      `cpu_system_percent AS "system"`,
      `cpu_iowait_percent AS "iowait"`,
      `cpu_steal_percent AS "steal"`,
      `${t === 'raw' ? 'cpu_percent' : 'cpu_percent_max'} AS "peak"`,
    ]),
    format: 'time_series',
    unit: 'percent',
    max: 100,
    w: 12,
    h: 8,
  },
  {
    title: 'Memory and swap %',
    type: 'timeseries',
    sql: machineSeries(() => [`memory_percent AS "memory"`, `swap_percent AS "swap"`]),
    format: 'time_series',
    unit: 'percent',
    max: 100,
    w: 12,
    h: 8,
  },
  { title: 'Load average', type: 'timeseries', sql: machineSeries(() => [`load_avg_1m AS "1m"`, `load_avg_5m AS "5m"`, `load_avg_15m AS "15m"`]), format: 'time_series', unit: 'short', w: 12, h: 8 },
  { title: 'Memory used', type: 'timeseries', sql: machineSeries(() => [`memory_used_bytes AS "used"`]), format: 'time_series', unit: 'bytes', w: 12, h: 8 },
  {
    title: 'Network',
    type: 'timeseries',
    sql: machineSeries(() => [`network_recv_bytes_sec AS "received"`, `network_sent_bytes_sec AS "sent"`]),
    format: 'time_series',
    unit: 'Bps',
    w: 12,
    h: 8,
  },
  {
    title: 'Disk I/O',
    type: 'timeseries',
    sql: machineSeries(() => [`disk_read_bytes_sec AS "read"`, `disk_write_bytes_sec AS "written"`]),
    format: 'time_series',
    unit: 'Bps',
    w: 12,
    h: 8,
  },
  { title: 'Fullest disk %', type: 'timeseries', sql: machineSeries(() => [`disk_percent AS "used"`]), format: 'time_series', unit: 'percent', max: 100, w: 8, h: 8 },
  { title: 'Temperature (hottest sensor)', type: 'timeseries', sql: machineSeries(() => [`temperature_c AS "°C"`]), format: 'time_series', unit: 'celsius', w: 8, h: 8 },
  { title: 'Processes', type: 'timeseries', sql: machineSeries(() => [`process_count AS "processes"`]), format: 'time_series', unit: 'short', w: 8, h: 8 },
  {
    title: 'Reports per minute',
    type: 'timeseries',
    description: 'Raw rows behind each 1-minute average: gaps and dips show missed reports (60 at a 1 s interval).',
    sql: `SELECT bucket AS "time", samples AS "reports"
FROM metrics_1m
WHERE machine_id = '$machine' AND $__timeFilter(bucket)
ORDER BY 1`,
    format: 'time_series',
    unit: 'short',
    w: 12,
    h: 8,
  },
  {
    title: 'Uptime',
    type: 'stat',
    sql: `SELECT uptime_seconds AS "uptime" FROM metrics WHERE machine_id = '$machine' AND time > now() - interval '7 days' ORDER BY time DESC LIMIT 1`,
    format: 'table',
    unit: 's',
    w: 6,
    h: 8,
  },
  {
    title: 'Last report',
    type: 'stat',
    sql: `SELECT extract(epoch FROM now() - max(time)) AS "seconds ago" FROM metrics WHERE machine_id = '$machine' AND time > now() - interval '7 days'`,
    format: 'table',
    unit: 's',
    w: 6,
    h: 8,
  },
];

export const MACHINE_VARIABLE_SQL = `SELECT DISTINCT machine_id FROM metrics_1h WHERE $__timeFilter(bucket) ORDER BY 1`;

export function buildDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const [i, spec] of [...FLEET, ...MACHINE].entries()) {
    if (x + spec.w > 24 || spec.type === 'row') {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel: Record<string, unknown> = { id: i + 1, title: spec.title, type: spec.type, gridPos: { h: spec.h, w: spec.w, x, y } };
    if (spec.type === 'row') {
      Object.assign(panel, { collapsed: false, panels: [] });
    } else {
      Object.assign(panel, {
        datasource: DATASOURCE,
        ...(spec.description ? { description: spec.description } : {}),
        targets: [{ refId: 'A', datasource: DATASOURCE, editorMode: 'code', rawQuery: true, format: spec.format, rawSql: spec.sql }],
        fieldConfig: {
          defaults: { unit: spec.unit ?? 'short', ...(spec.max !== undefined ? { min: 0, max: spec.max } : {}) },
          overrides: [],
        },
        options: spec.type === 'timeseries' ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } } : {},
        ...spec.extra,
      });
    }
    panels.push(panel);
    x += spec.w;
    rowHeight = Math.max(rowHeight, spec.h);
  }
  return {
    title: 'sysmonstm fleet',
    uid: 'sysmonstm-fleet',
    description: 'Fleet overview and machine drill-down from the sysmonstm hub history (TimescaleDB or PostgreSQL).',
    tags: ['sysmonstm'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    schemaVersion: 39,
    version: 1,
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'grafana-postgresql-datasource',
          current: {},
          hide: 0,
          refresh: 1,
        },
        {
          name: 'machine',
          label: 'Machine',
          type: 'query',
          datasource: DATASOURCE,
          definition: MACHINE_VARIABLE_SQL,
          query: MACHINE_VARIABLE_SQL,
          refresh: 2,
          sort: 1,
          multi: false,
          includeAll: false,
          current: {},
          hide: 0,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DASHBOARD_FILE, JSON.stringify(buildDashboard(), null, 2) + '\n');
  process.stdout.write(`wrote ${path.relative(process.cwd(), DASHBOARD_FILE)}\n`);
}
