// The REST API as the dashboard uses it: the hub's in full; the public edge answers /api/info and
// /api/machines/:id/recent (the relay's short ring) and has no history.
// Responses are checked for the shape the views rely on; a failure throws an Error with the endpoint.
import type { MetricName, Metrics } from '../../proto/metrics.ts';
import type { MachineSummaryJson } from '../../proto/machine-json.ts';

export type DashboardMode = 'hub' | 'edge';

const TIMEOUT_MS = 15_000;

async function getJson(path: string, signal?: AbortSignal): Promise<unknown> {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(path, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, headers: { accept: 'application/json' } });
  if (!res.ok) {
    let detail = '';
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === 'string') detail = `: ${body.error}`;
    } catch {
      /* not JSON */
    }
    throw new Error(`GET ${path} answered ${res.status}${detail}`);
  }
  return res.json();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The view's title and metrics from /v/{slug}/api/view; null when the edge answers 404 (no such view,
 *  revoked, or a wrong link key — the edge does not say which). */
export async function fetchViewInfo(signal?: AbortSignal): Promise<{ title: string; metrics: string[] } | null> {
  const key = viewApi.key ? `?key=${encodeURIComponent(viewApi.key)}` : '';
  const res = await fetch(`${viewApi.prefix}/api/view${key}`, { signal: signal ?? AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (res.status === 404) return null;
  const body = await res.json();
  if (!isRecord(body) || typeof body.title !== 'string' || !Array.isArray(body.metrics)) throw new Error('view: expected {title, metrics}');
  return { title: body.title, metrics: body.metrics.filter((m): m is string => typeof m === 'string') };
}

/**
 * 'hub' when /api/info says so; anything else (404 on the Worker, `mode: 'edge'`) is the read-only edge.
 * `signedIn`: the hub has a dashboard token and this browser signed in (the page offers a sign-out).
 */
export async function detectMode(signal?: AbortSignal): Promise<{ mode: DashboardMode; signedIn: boolean }> {
  const res = await fetch('/api/info', { signal: signal ?? AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (!res.ok) return { mode: 'edge', signedIn: false };
  try {
    const body = await res.json();
    const hub = isRecord(body) && body.mode === 'hub';
    return { mode: hub ? 'hub' : 'edge', signedIn: hub && body.signedIn === true };
  } catch {
    return { mode: 'edge', signedIn: false };
  }
}

export interface RecentSample {
  t: number;
  metrics: Partial<Metrics>;
}

let viewApi = { prefix: '', key: null as string | null };

/** On a public view's page the edge API lives under /v/{slug} and wants the link key. */
export function setViewApi(prefix: string, key: string | null): void {
  viewApi = { prefix, key };
}

export async function fetchRecent(id: string, limit: number, signal?: AbortSignal): Promise<RecentSample[]> {
  const key = viewApi.key ? `&key=${encodeURIComponent(viewApi.key)}` : '';
  const body = await getJson(`${viewApi.prefix}/api/machines/${encodeURIComponent(id)}/recent?limit=${limit}${key}`, signal);
  if (!Array.isArray(body)) throw new Error('recent: expected an array');
  return body.filter((p): p is RecentSample => isRecord(p) && typeof p.t === 'number' && isRecord(p.metrics));
}

export interface HistoryResult {
  metric: MetricName;
  step: string;
  from: number;
  to: number;
  points: Array<[number, number | null]>;
}

export async function fetchHistory(id: string, metric: MetricName, fromMs: number, toMs: number, signal?: AbortSignal): Promise<HistoryResult> {
  const q = new URLSearchParams({ metric, from: String(Math.floor(fromMs)), to: String(Math.ceil(toMs)), step: 'auto' });
  const body = await getJson(`/api/machines/${encodeURIComponent(id)}/history?${q}`, signal);
  if (!isRecord(body) || !Array.isArray(body.points)) throw new Error(`history ${metric}: expected {points: [...]}`);
  const points = body.points.filter(
    (p): p is [number, number | null] => Array.isArray(p) && typeof p[0] === 'number' && (typeof p[1] === 'number' || p[1] === null),
  );
  return { metric, step: String(body.step ?? 'auto'), from: Number(body.from), to: Number(body.to), points };
}

/** The latest full report (proto JSON, snake_case; zero values omitted) — only the parts the views show. */
export interface ReportJson {
  cpu?: { total_percent?: number; per_core_percent?: number[]; core_count?: number };
  memory?: { total_bytes?: number; used_bytes?: number; swap_total_bytes?: number; swap_used_bytes?: number };
  filesystems?: Array<{ mount?: string; device?: string; fs_type?: string; size_bytes?: number; used_bytes?: number; used_percent?: number }>;
  disks?: Array<{ device?: string; read_bytes_per_sec?: number; write_bytes_per_sec?: number }>;
  network?: Array<{ name?: string; recv_bytes_per_sec?: number; sent_bytes_per_sec?: number; recv_bytes_total?: number; sent_bytes_total?: number }>;
  temperatures?: Array<{ sensor?: string; celsius?: number }>;
  containers?: Array<{
    id?: string;
    name?: string;
    image?: string;
    state?: string;
    health?: string;
    restart_count?: number;
    cpu_percent?: number;
    memory_bytes?: number;
    memory_limit_bytes?: number;
    memory_percent?: number;
    net_recv_bytes_per_sec?: number;
    net_sent_bytes_per_sec?: number;
    block_read_bytes_per_sec?: number;
    block_write_bytes_per_sec?: number;
  }>;
  top_processes?: Array<{ pid?: number; name?: string; user?: string; cpu_percent?: number; rss_bytes?: number; state?: string }>;
  gpus?: Array<{ vendor?: string; index?: number; name?: string; utilization_percent?: number; memory_used_bytes?: number; memory_total_bytes?: number; temperature_celsius?: number; has_temperature?: boolean; power_watts?: number }>;
  disk_health?: Array<{ device?: string; model?: string; passed?: boolean; temperature_celsius?: number; power_on_hours?: number; reallocated_sectors?: number; pending_sectors?: number; percentage_used?: number; checked_at_ms?: string }>;
  services?: Array<{ name?: string; active_state?: string; sub_state?: string; restarts?: number; memory_bytes?: number }>;
  uptime_seconds?: number;
  timestamp_ms?: string;
}

/** Hub only: machine id → how many of its containers, services, disks and GPUs are failing (from GET /api/machines). */
export async function fetchFailingCounts(signal?: AbortSignal): Promise<Map<string, number>> {
  const body = await getJson('/api/machines', signal);
  const out = new Map<string, number>();
  if (!Array.isArray(body)) return out;
  for (const m of body) if (isRecord(m) && typeof m.id === 'string' && typeof m.failing === 'number' && m.failing > 0) out.set(m.id, m.failing);
  return out;
}

export interface MachineDetail extends Pick<MachineSummaryJson, 'id' | 'lastSeen'> {
  report: ReportJson;
}

export async function fetchMachineDetail(id: string, signal?: AbortSignal): Promise<MachineDetail> {
  const body = await getJson(`/api/machines/${encodeURIComponent(id)}/metrics`, signal);
  if (!isRecord(body) || typeof body.id !== 'string') throw new Error('metrics: expected a machine summary');
  return { id: body.id, lastSeen: Number(body.lastSeen), report: isRecord(body.report) ? (body.report as ReportJson) : {} };
}
