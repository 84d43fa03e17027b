// The read side of the fleet, shared by the REST gateway and the gRPC FleetService so both answer the
// same: machine list, one machine's latest report, history with validated parameters.
import { fromBinary, toJson, type JsonObject } from '@bufbuild/protobuf';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { isMetricName, METRIC_NAMES, type MetricName } from '../../proto/metrics.ts';
import { machineStatus, type MachineStatus } from '../../proto/status.ts';
import { badRequest, notFound } from '../errors.ts';
import type { HistoryPoint, HistoryStep, HistoryStore } from '../history/history-store.ts';
import { chooseStep, downsample, MAX_EXPLICIT_POINTS, MAX_HISTORY_POINTS } from '../history/rollup-tier.ts';
import type { MachineRecord, RecentPoint, StateStore } from '../state/state-store.ts';
import { MACHINE_ID_PATTERN, MACHINE_ID_RULE } from '../../proto/machine-id.ts';
import { failingCount } from '../../proto/source-health.ts';
import type { MachineSummaryJson } from '../../proto/machine-json.ts';

export type { MachineSummaryJson };

export interface MachineDetailJson extends MachineSummaryJson {
  report: JsonObject;
}

export interface HistoryJson {
  machine: string;
  metric: MetricName;
  step: HistoryStep;
  from: number;
  to: number;
  points: HistoryPoint[];
}

export interface HistoryParams {
  metric?: string;
  from?: string;
  to?: string;
  step?: string;
}

export const MAX_HISTORY_RANGE_MS = 3 * 365 * 24 * 3600_000;
/** The latest `from`/`to` taken: 9999-12-31T00:00:00Z (a later time has no ISO form the database reads). */
export const MAX_HISTORY_TIME_MS = Date.UTC(9999, 11, 31);
const COARSER: Readonly<Record<HistoryStep, HistoryStep | undefined>> = { raw: '1m', '1m': '1h', '1h': undefined };

/** `status` overrides the threshold colours (the alert-driven status when rules exist). */
export function toSummary(record: MachineRecord, nowMs: number, status?: MachineStatus): MachineSummaryJson {
  return {
    id: record.id,
    hostname: record.hostname,
    name: record.displayName,
    lastSeen: record.lastSeenMs,
    status: status ?? machineStatus(record.metrics, record.lastSeenMs, record.intervalMs, nowMs),
    labels: record.labels,
    intervalMs: record.intervalMs,
    lastSeq: record.lastSeq,
    metrics: record.metrics,
    ...(record.problems ? { problems: record.problems } : {}),
    failing: failingCount(record.problems),
  };
}

function checkId(id: string): string {
  if (!MACHINE_ID_PATTERN.test(id)) throw badRequest(`machine id ${MACHINE_ID_RULE}`);
  return id;
}

function parseMs(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,15}$/.test(value) || Number(value) > MAX_HISTORY_TIME_MS) {
    throw badRequest(`${name} must be a time in milliseconds since the epoch, at most ${MAX_HISTORY_TIME_MS} (the last day of year 9999)`);
  }
  return Number(value);
}

export function createFleetQuery(deps: {
  state: StateStore;
  history: HistoryStore;
  /** The machine's status colour; default: the thresholds (proto/status.ts). */
  statusOf?: (record: MachineRecord, nowMs: number) => MachineStatus;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const summary = (record: MachineRecord, t: number) => toSummary(record, t, deps.statusOf?.(record, t));

  async function requireRecord(id: string): Promise<MachineRecord> {
    const record = await deps.state.get(checkId(id));
    if (!record) throw notFound(`unknown machine "${id}"`);
    return record;
  }

  return {
    async list(): Promise<MachineSummaryJson[]> {
      const t = now();
      const records = await deps.state.list();
      return records.map((r) => summary(r, t)).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    },

    async detail(id: string): Promise<MachineDetailJson> {
      const record = await requireRecord(id);
      const bytes = await deps.state.latestReport(id);
      const report = bytes ? (toJson(ReportSchema, fromBinary(ReportSchema, bytes), { useProtoFieldName: true }) as JsonObject) : {};
      return { ...summary(record, now()), report };
    },

    async recent(id: string, limit?: number): Promise<RecentPoint[]> {
      await requireRecord(id);
      return deps.state.recent(id, limit);
    },

    async history(id: string, params: HistoryParams): Promise<HistoryJson> {
      checkId(id);
      const metric = params.metric ?? 'cpu_percent';
      if (!isMetricName(metric)) throw badRequest(`unknown metric "${metric}"; one of: ${METRIC_NAMES.join(', ')}`);
      const t = now();
      const to = parseMs(params.to, 'to', t);
      const from = parseMs(params.from, 'from', to - 3600_000);
      if (from >= to) throw badRequest('from must be before to');
      if (to - from > MAX_HISTORY_RANGE_MS) throw badRequest('the range may span at most 3 years');
      const requested = params.step ?? 'auto';
      if (requested !== 'auto' && requested !== 'raw' && requested !== '1m' && requested !== '1h') {
        throw badRequest('step must be one of auto, raw, 1m, 1h');
      }
      const known = (await deps.state.get(id)) ?? ((await deps.history.lastSeq(id)) > 0 ? true : undefined);
      if (!known) throw notFound(`unknown machine "${id}"`);
      let step = chooseStep(from, to, requested);
      let points: HistoryPoint[];
      if (requested === 'auto') {
        // Thinned in the database to the lowest and highest value per bucket (at most 2 × 1,500 rows
        // leave it, whatever the report spacing), then to 1,500 points keeping peaks.
        const bucketMs = Math.ceil((to - from) / (MAX_HISTORY_POINTS - 1));
        points = downsample(await deps.history.query(id, metric, from, to, step, { bucketMs, maxPoints: 2 * MAX_HISTORY_POINTS }), MAX_HISTORY_POINTS);
      } else {
        // An explicit tier is honoured while it holds at most MAX_EXPLICIT_POINTS, counted in the
        // database (reports may come faster than 1 s); else the next coarser one; the coarsest is
        // thinned in the database to fit.
        for (;;) {
          points = await deps.history.query(id, metric, from, to, step, { maxPoints: MAX_EXPLICIT_POINTS + 1 });
          if (points.length <= MAX_EXPLICIT_POINTS) break;
          const next = COARSER[step];
          if (next === undefined) {
            const bucketMs = Math.ceil((to - from) / (MAX_EXPLICIT_POINTS / 2 - 1));
            points = await deps.history.query(id, metric, from, to, step, { bucketMs, maxPoints: MAX_EXPLICIT_POINTS });
            break;
          }
          step = next;
        }
      }
      // Averages (rollups, thinning) are rounded like the reported values: 53.68, not 53.68049999999998.
      return { machine: id, metric, step, from, to, points: points.map(([t, v]) => [t, Math.round(v * 100) / 100] as HistoryPoint) };
    },
  };
}

export type FleetQuery = ReturnType<typeof createFleetQuery>;
