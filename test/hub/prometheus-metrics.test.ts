// GET /metrics on a real hub: synthetic collectors stream over gRPC into a hub on the local PostgreSQL,
// a browser-like viewer holds /ws open, a local WebSocket server stands in for the edge relay, and a
// scheduled pg_dump backup runs. The scrape is parsed with a strict text-format parser; every family
// must carry HELP and TYPE, histograms must be consistent, and the values must be exactly what was sent.
import { readdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { FLEET_METRICS, unexportedMetrics } from '../../hub/gateway/prometheus-metrics.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { parsePrometheusText, sampleValue, type Family } from '../support/prometheus-text.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';
import { writeEverythingViewFile } from '../support/public-views.ts';

const EDGE_KEY = 'edge-secret-for-metrics-test';
let hub: Hub;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let edge: WebSocketServer;
let viewer: WebSocket;
let session: SyntheticSession;
const dir = tempDir('prometheus');
let api: string;

async function scrape(): Promise<{ families: Map<string, Family>; contentType: string | null; text: string }> {
  const res = await fetch(`${api}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { families: parsePrometheusText(text), contentType: res.headers.get('content-type'), text };
}

beforeAll(async () => {
  db = await createTestDatabase();
  edge = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info: { req: IncomingMessage }) => info.req.headers.authorization === `Bearer ${EDGE_KEY}`,
  });
  edge.on('connection', (ws) => ws.on('message', () => {}));
  await new Promise<void>((r) => edge.once('listening', () => r()));
  const config = parseHubConfig([], {
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    DATA_DIR: dir.path,
    TIMESCALE_URL: db.url,
    HISTORY_FLUSH_INTERVAL: '0.05',
    LIVE_PUSH_INTERVAL: '0.1',
    EDGE_URL: `ws://127.0.0.1:${(edge.address() as AddressInfo).port}/ingest`,
    EDGE_API_KEY: EDGE_KEY,
    PUBLIC_VIEWS_FILE: writeEverythingViewFile(dir.path),
    EDGE_PUSH_INTERVAL: '0.05',
    BACKUP_INTERVAL: '1h',
    BACKUP_DIR: `${dir.path}/backups`,
  });
  hub = await startHub(config, { log: pino({ level: 'silent' }), backupFirstDelayMs: 0 });
  api = `http://127.0.0.1:${hub.httpPort}`;

  viewer = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws`);
  await new Promise((resolve, reject) => viewer.once('message', resolve).once('error', reject));

  session = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'prom-a');
  const now = Date.now();
  const named = (seq: number, cpu?: number) => {
    const r = syntheticReport('prom-a', seq, now - 1000 + seq, cpu);
    r.displayName = 'Web "A" \\ east'; // quote and backslash: label values must be escaped
    return r;
  };
  // One at a time, as a collector at its interval sends them: each accepted report gets its own live
  // update (a burst of one machine's reports coalesces into its newest: ingest-service.ts).
  for (const seq of [1, 2, 3, 4, 5]) {
    session.send(named(seq));
    await waitFor(`seq ${seq} acked`, () => session.acked() >= seq);
  }
  session.send(named(3)); // a replay: counted as a duplicate
  session.send(named(6, 150)); // CPU 150 %: rejected
  await waitFor('seq 6 acked', () => session.acked() >= 6);
  session.send(named(7));
  await waitFor('seq 7 acked', () => session.acked() >= 7);
});

afterAll(async () => {
  await session?.finish().catch(() => {});
  viewer?.close();
  await hub?.close();
  await new Promise((r) => edge?.close(r));
  await db?.drop();
  dir.remove();
});

describe('GET /metrics', () => {
  test('is valid text exposition: every family has HELP and TYPE, counters end in _total', async () => {
    const { families, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(families.size).toBeGreaterThan(40);
    for (const f of families.values()) {
      expect(f.help, `${f.name} HELP`).toBeTruthy();
      expect(f.type, `${f.name} TYPE`).toMatch(/^(counter|gauge|histogram|summary)$/);
      if (f.type === 'counter') expect(f.name, 'counter name').toMatch(/_total$/);
    }
    // The process metrics ride along once.
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
  });

  test('counts reports by outcome, exactly', async () => {
    const { families } = await scrape();
    expect(sampleValue(families, 'sysmonstm_hub_reports_received_total', { outcome: 'accepted' })).toBe(6);
    expect(sampleValue(families, 'sysmonstm_hub_reports_received_total', { outcome: 'duplicate' })).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_reports_received_total', { outcome: 'rejected' })).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_collector_streams')).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_history_rows_total', { outcome: 'written' })).toBe(6);
    expect(sampleValue(families, 'sysmonstm_hub_history_pending_rows')).toBe(0);
    expect(sampleValue(families, 'sysmonstm_hub_viewers')).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_machines', { status: 'healthy' })).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_info', { history: 'postgres', state: 'memory' })).toBe(1);
  });

  test('histograms: ingest latency per published report, history writes timed and sized', async () => {
    const { families } = await waitFor('6 published reports observed', async () => {
      const s = await scrape();
      return sampleValue(s.families, 'sysmonstm_hub_ingest_latency_seconds_count') === 6 ? s : undefined;
    });
    for (const name of ['sysmonstm_hub_ingest_latency_seconds', 'sysmonstm_hub_history_write_duration_seconds', 'sysmonstm_hub_history_batch_rows']) {
      const f = families.get(name)!;
      expect(f.type).toBe('histogram');
      const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
      const bounds = buckets.map((b) => Number(b.labels.le === '+Inf' ? Infinity : b.labels.le));
      expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
      expect(bounds.at(-1)).toBe(Infinity);
      const counts = buckets.map((b) => b.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b)); // cumulative
      expect(counts.at(-1)).toBe(sampleValue(families, `${name}_count`));
    }
    const latencySum = sampleValue(families, 'sysmonstm_hub_ingest_latency_seconds_sum');
    expect(latencySum).toBeGreaterThan(0);
    expect(latencySum / 6).toBeLessThan(1); // on loopback with an in-memory state, well under a second each
    // Every written row went through a timed batch.
    expect(sampleValue(families, 'sysmonstm_hub_history_batch_rows_sum')).toBe(6);
    expect(sampleValue(families, 'sysmonstm_hub_history_write_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  test('the fleet: node_exporter-like names with a machine label and the values of the last report', async () => {
    const { families } = await scrape();
    const m = { machine: 'prom-a' };
    // seq 7: cpu 10 + 7 = 17 (user 70 %, system 30 %), load 0.5/0.4/0.3, memory 4e9 of 8e9, disk 40 %.
    expect(sampleValue(families, 'sysmonstm_node_cpu_usage_percent', m)).toBe(17);
    expect(sampleValue(families, 'sysmonstm_node_cpu_mode_percent', { ...m, mode: 'user' })).toBe(11.9);
    expect(sampleValue(families, 'sysmonstm_node_cpu_mode_percent', { ...m, mode: 'system' })).toBe(5.1);
    expect(sampleValue(families, 'node_load1', m)).toBe(0.5);
    expect(sampleValue(families, 'node_load5', m)).toBe(0.4);
    expect(sampleValue(families, 'node_load15', m)).toBe(0.3);
    expect(sampleValue(families, 'sysmonstm_node_memory_used_percent', m)).toBe(50);
    expect(sampleValue(families, 'sysmonstm_node_memory_used_bytes', m)).toBe(4e9);
    expect(sampleValue(families, 'sysmonstm_node_filesystem_max_used_percent', m)).toBe(40);
    expect(sampleValue(families, 'sysmonstm_node_network_receive_bytes_per_second', m)).toBe(1007);
    expect(sampleValue(families, 'sysmonstm_node_network_transmit_bytes_per_second', m)).toBe(500);
    expect(sampleValue(families, 'sysmonstm_node_processes', m)).toBe(120);
    expect(sampleValue(families, 'sysmonstm_node_uptime_seconds', m)).toBe(3600);
    // No temperature in the report: no series, rather than a made-up 0.
    expect(families.get('sysmonstm_node_hwmon_temp_max_celsius')!.samples).toEqual([]);
    expect(sampleValue(families, 'sysmonstm_machine_up', m)).toBe(1);
    expect(sampleValue(families, 'sysmonstm_machine_last_seq', m)).toBe(7);
    expect(sampleValue(families, 'sysmonstm_machine_interval_seconds', m)).toBe(1);
    expect(Date.now() / 1000 - sampleValue(families, 'sysmonstm_machine_last_seen_timestamp_seconds', m)).toBeLessThan(30);
    expect(sampleValue(families, 'sysmonstm_machine_status', { ...m, status: 'healthy' })).toBe(1);
    for (const status of ['warning', 'critical', 'offline']) expect(sampleValue(families, 'sysmonstm_machine_status', { ...m, status })).toBe(0);
    // The display name with a quote and a backslash survives escaping intact.
    expect(sampleValue(families, 'sysmonstm_machine_info', { ...m, hostname: 'prom-a.local', name: 'Web "A" \\ east' })).toBe(1);
  });

  test('edge forwarding and the scheduled backup show up', async () => {
    const { families } = await waitFor('edge connected and a backup written', async () => {
      const s = await scrape();
      const ok =
        sampleValue(s.families, 'sysmonstm_hub_edge_connected') === 1 &&
        s.families.get('sysmonstm_hub_backups_total')!.samples.some((x) => x.labels.outcome === 'success' && x.value === 1);
      return ok ? s : undefined;
    });
    expect(sampleValue(families, 'sysmonstm_hub_edge_configured')).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_edge_frames_total', { kind: 'snapshot' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'sysmonstm_hub_edge_sent_bytes_total')).toBeGreaterThan(0);
    expect(sampleValue(families, 'sysmonstm_hub_edge_views')).toBe(1);
    expect(sampleValue(families, 'sysmonstm_hub_edge_frames_total', { kind: 'config' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'sysmonstm_hub_edge_frames_refused_total')).toBe(0);
    expect(sampleValue(families, 'sysmonstm_hub_edge_forward_lag_seconds')).toBeLessThan(5);
    expect(sampleValue(families, 'sysmonstm_hub_backups_total', { outcome: 'failure' })).toBe(0);
    const files = readdirSync(`${dir.path}/backups`);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^sysmonstm-\d{8}T\d{6}Z\.dump$/);
    expect(sampleValue(families, 'sysmonstm_hub_backup_last_size_bytes')).toBeGreaterThan(1000);
    expect(Date.now() / 1000 - sampleValue(families, 'sysmonstm_hub_backup_last_success_timestamp_seconds')).toBeLessThan(60);
  });

  test('every headline metric has an exported series', () => {
    expect(unexportedMetrics()).toEqual([]);
    const names = new Set(FLEET_METRICS.map((m) => `${m.name}${JSON.stringify(m.extra ?? {})}`));
    expect(names.size).toBe(FLEET_METRICS.length); // no two metrics on one series
  });
});

describe('the test parser refuses what Prometheus refuses', () => {
  test.each([
    ['a sample without TYPE', 'x 1\n'],
    ['a bad escape', '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ['an unquoted label', '# TYPE x gauge\nx{a=1} 1\n'],
    ['a second TYPE', '# TYPE x gauge\n# TYPE x counter\n'],
    ['a non-number', '# TYPE x gauge\nx one\n'],
    ['no final newline', '# TYPE x gauge\nx 1'],
  ])('%s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });

  test('and reads what it should', () => {
    const f = parsePrometheusText('# HELP h_seconds A \\\\ help\n# TYPE h_seconds histogram\nh_seconds_bucket{le="+Inf",m="a\\"b\\\\c\\nd"} 2\nh_seconds_sum 0.5\nh_seconds_count 2\n');
    expect(f.get('h_seconds')).toMatchObject({ help: 'A \\ help', type: 'histogram' });
    expect(sampleValue(f, 'h_seconds_bucket', { m: 'a"b\\c\nd' })).toBe(2);
  });
});
