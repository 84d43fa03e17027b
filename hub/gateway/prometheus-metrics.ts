// GET /metrics: the hub in Prometheus text format, so Prometheus/Grafana users scrape one endpoint.
// Two parts:
//   - the hub's own health: reports received (by outcome), receipt → event published latency, history
//     write latency and batch sizes, rows waiting for the database, backups, edge forwarding (connected,
//     lag), viewers, plus the standard process_* / nodejs_* metrics;
//   - the fleet's current values, one series per machine with a `machine` label, named after
//     node_exporter where the meaning is the same (node_load1) and sysmonstm_node_* otherwise (node_exporter
//     exports counters, the hub has rates and percentages). FLEET_METRICS is the mapping (docs/api.md).
// The hot path only calls observeIngestLatency (one histogram observe); every counter is read from the
// stats objects the parts already keep, at scrape time.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRIC_NAMES, type MetricName } from '../../proto/metrics.ts';
import { MACHINE_STATUSES, type MachineStatus } from '../../proto/status.ts';
import type { BackupStats } from '../backup/backup-scheduler.ts';
import type { EdgeForwarderStats } from '../edge/edge-forwarder.ts';
import type { HistoryStore } from '../history/history-store.ts';
import type { HistoryWriterStats } from '../history/history-writer.ts';
import type { IngestStats } from '../ingest-service.ts';
import type { MachineRecord } from '../state/state-store.ts';

export interface FleetMetric {
  /** The headline metric (proto/metrics.ts) it comes from. */
  readonly source: MetricName;
  readonly name: string;
  readonly help: string;
  /** A fixed extra label, e.g. the CPU mode. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Headline metric → exported series. Every METRIC_NAMES entry appears exactly once. */
export const FLEET_METRICS: readonly FleetMetric[] = Object.freeze([
  { source: 'cpu_percent', name: 'sysmonstm_node_cpu_usage_percent', help: 'CPU busy over the last interval, all cores (0-100).' },
  { source: 'cpu_user_percent', name: 'sysmonstm_node_cpu_mode_percent', help: 'CPU time by mode over the last interval, all cores (0-100).', extra: { mode: 'user' } },
  { source: 'cpu_system_percent', name: 'sysmonstm_node_cpu_mode_percent', help: '', extra: { mode: 'system' } },
  { source: 'cpu_iowait_percent', name: 'sysmonstm_node_cpu_mode_percent', help: '', extra: { mode: 'iowait' } },
  { source: 'cpu_steal_percent', name: 'sysmonstm_node_cpu_mode_percent', help: '', extra: { mode: 'steal' } },
  { source: 'memory_percent', name: 'sysmonstm_node_memory_used_percent', help: 'Memory in use, percent of total (total minus available).' },
  { source: 'memory_used_bytes', name: 'sysmonstm_node_memory_used_bytes', help: 'Memory in use in bytes (MemTotal - MemAvailable).' },
  { source: 'swap_percent', name: 'sysmonstm_node_swap_used_percent', help: 'Swap in use, percent of total.' },
  { source: 'disk_percent', name: 'sysmonstm_node_filesystem_max_used_percent', help: 'Fullest real file system, percent used (as df shows it).' },
  { source: 'load_avg_1m', name: 'node_load1', help: '1m load average.' },
  { source: 'load_avg_5m', name: 'node_load5', help: '5m load average.' },
  { source: 'load_avg_15m', name: 'node_load15', help: '15m load average.' },
  { source: 'network_recv_bytes_sec', name: 'sysmonstm_node_network_receive_bytes_per_second', help: 'Bytes received per second, physical interfaces summed.' },
  { source: 'network_sent_bytes_sec', name: 'sysmonstm_node_network_transmit_bytes_per_second', help: 'Bytes sent per second, physical interfaces summed.' },
  { source: 'disk_read_bytes_sec', name: 'sysmonstm_node_disk_read_bytes_per_second', help: 'Bytes read per second, physical disks summed.' },
  { source: 'disk_write_bytes_sec', name: 'sysmonstm_node_disk_written_bytes_per_second', help: 'Bytes written per second, physical disks summed.' },
  { source: 'process_count', name: 'sysmonstm_node_processes', help: 'Processes on the machine.' },
  { source: 'temperature_c', name: 'sysmonstm_node_hwmon_temp_max_celsius', help: 'Hottest temperature sensor, degrees Celsius.' },
  { source: 'uptime_seconds', name: 'sysmonstm_node_uptime_seconds', help: 'Seconds since the machine booted.' },
] satisfies FleetMetric[]);

/** Upper bounds of the ingest latency histogram (seconds): sub-millisecond to seconds. */
export const INGEST_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
export const HISTORY_WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const HISTORY_BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

export interface HubMetricsSources {
  ingest: () => Readonly<IngestStats>;
  history: () => Readonly<HistoryWriterStats>;
  fleet: {
    records(): Iterable<MachineRecord>;
    get(id: string): { status: MachineStatus } | undefined;
  };
  viewers: () => number;
  /** undefined when EDGE_URL is not set. */
  edge: () => (EdgeForwarderStats & { views?: number }) | undefined;
  /** undefined when scheduled backups are off. */
  backup: () => BackupStats | undefined;
  /**
   * Spool of history rows the database could not take (when the hub has one): read defensively, a
   * missing or non-numeric field just leaves the series out.
   */
  spool?: () => { rows?: unknown; bytes?: unknown } | undefined;
  /** Hub start time (ms). */
  startedAtMs: number;
  historyPath: string;
  stateKind: string;
  version: string;
}

export interface HubMetrics {
  readonly contentType: string;
  /** Receipt → event published, from the ingest service (ms). The only call on the hot path. */
  observeIngestLatency(latencyMs: number): void;
  /** Wraps the history store so every batch write is timed and sized. */
  timeHistoryWrites<S extends Pick<HistoryStore, 'write'>>(store: S): Pick<HistoryStore, 'write'>;
  render(): Promise<string>;
}

/** process_* and nodejs_* are per process: registered once, whatever the number of hubs in it (tests). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function createHubMetrics(sources: HubMetricsSources): HubMetrics {
  const registry = new Registry();
  const registers = [registry];

  const ingestLatency = new Histogram({
    name: 'sysmonstm_hub_ingest_latency_seconds',
    help: 'Report receipt to its event published (state updated, event on the bus), in seconds.',
    buckets: INGEST_LATENCY_BUCKETS,
    registers,
  });
  const historyWrite = new Histogram({
    name: 'sysmonstm_hub_history_write_duration_seconds',
    help: 'Time to write one batch of rows to the history database, in seconds (successful writes).',
    buckets: HISTORY_WRITE_BUCKETS,
    registers,
  });
  const historyBatch = new Histogram({
    name: 'sysmonstm_hub_history_batch_rows',
    help: 'Rows per history batch written.',
    buckets: HISTORY_BATCH_BUCKETS,
    registers,
  });

  // Counters and gauges below are set from the parts' own stats at scrape time.
  const reports = new Counter({ name: 'sysmonstm_hub_reports_received_total', help: 'Reports received from collectors, by outcome (accepted, duplicate replay, rejected as invalid).', labelNames: ['outcome'], registers });
  const liveSuperseded = new Counter({ name: 'sysmonstm_hub_live_updates_superseded_total', help: 'Reports kept in history whose live update was replaced by a newer report of the same machine (the hub was behind).', registers });
  const streams = new Gauge({ name: 'sysmonstm_hub_collector_streams', help: 'Collector gRPC streams open now.', registers });
  const historyRows = new Counter({ name: 'sysmonstm_hub_history_rows_total', help: 'History rows by outcome: written to the database, rejected by it, or spooled to disk while it was unavailable.', labelNames: ['outcome'], registers });
  const historyFailures = new Counter({ name: 'sysmonstm_hub_history_write_failures_total', help: 'Failed history write attempts (each is retried).', registers });
  const historyPending = new Gauge({ name: 'sysmonstm_hub_history_pending_rows', help: 'Rows waiting for the history database (queued or being written).', registers });
  const spoolRows = new Gauge({ name: 'sysmonstm_hub_spool_rows', help: 'History rows held in the hub spool on disk, waiting to be replayed into the database.', registers });
  const spoolBytes = new Gauge({ name: 'sysmonstm_hub_spool_bytes', help: 'Size of the hub spool on disk, in bytes.', registers });
  const viewers = new Gauge({ name: 'sysmonstm_hub_viewers', help: 'Browsers connected to the hub /ws now.', registers });
  const machines = new Gauge({ name: 'sysmonstm_hub_machines', help: 'Machines the hub knows, by status.', labelNames: ['status'], registers });
  const edgeConfigured = new Gauge({ name: 'sysmonstm_hub_edge_configured', help: '1 when EDGE_URL is set.', registers });
  const edgeConnected = new Gauge({ name: 'sysmonstm_hub_edge_connected', help: '1 while the WebSocket to the edge relay is open.', registers });
  const edgeLag = new Gauge({ name: 'sysmonstm_hub_edge_forward_lag_seconds', help: 'Age of the oldest change not yet sent to the edge (0 = up to date).', registers });
  const edgeBytes = new Counter({ name: 'sysmonstm_hub_edge_sent_bytes_total', help: 'Bytes sent to the edge relay.', registers });
  const edgeFrames = new Counter({ name: 'sysmonstm_hub_edge_frames_total', help: 'Frames sent to the edge relay, by kind.', labelNames: ['kind'], registers });
  const edgeConnects = new Counter({ name: 'sysmonstm_hub_edge_connects_total', help: 'Connections made to the edge relay.', registers });
  const edgeErrors = new Counter({ name: 'sysmonstm_hub_edge_errors_total', help: 'Error frames the edge relay sent back.', registers });
  const edgeRefused = new Counter({ name: 'sysmonstm_hub_edge_frames_refused_total', help: 'Frames the edge relay refused (each answered with a backed-off fresh snapshot, never a resend loop).', registers });
  const edgeViews = new Gauge({ name: 'sysmonstm_hub_edge_views', help: 'Public views forwarded to the edge (one WebSocket per relay shard each).', registers });
  const edgeShardSockets = new Gauge({ name: 'sysmonstm_hub_edge_shard_sockets', help: 'Hub sockets to the relay shards of every view, by state (open, down: reconnecting).', labelNames: ['state'], registers });
  const backupRuns = new Counter({ name: 'sysmonstm_hub_backups_total', help: 'Scheduled or manual backups, by outcome.', labelNames: ['outcome'], registers });
  const backupLastSuccess = new Gauge({ name: 'sysmonstm_hub_backup_last_success_timestamp_seconds', help: 'When the last backup finished (Unix time); absent until one did.', registers });
  const backupLastDuration = new Gauge({ name: 'sysmonstm_hub_backup_last_duration_seconds', help: 'How long the last successful backup took.', registers });
  const backupLastBytes = new Gauge({ name: 'sysmonstm_hub_backup_last_size_bytes', help: 'Size of the last successful backup.', registers });
  const info = new Gauge({ name: 'sysmonstm_hub_info', help: 'Always 1; labels say what the hub runs on.', labelNames: ['version', 'history', 'state'], registers });
  const startTime = new Gauge({ name: 'sysmonstm_hub_start_time_seconds', help: 'When the hub started (Unix time).', registers });

  const machineInfo = new Gauge({ name: 'sysmonstm_machine_info', help: 'Always 1; identity of each machine.', labelNames: ['machine', 'hostname', 'name'], registers });
  const machineUp = new Gauge({ name: 'sysmonstm_machine_up', help: '1 while the machine reports, 0 once it is offline (5 intervals, at least 10 s, without a report).', labelNames: ['machine'], registers });
  const machineStatus = new Gauge({ name: 'sysmonstm_machine_status', help: 'Health colour as a state set: 1 for the current status, 0 for the others.', labelNames: ['machine', 'status'], registers });
  const machineLastSeen = new Gauge({ name: 'sysmonstm_machine_last_seen_timestamp_seconds', help: 'When the hub received the latest report (Unix time).', labelNames: ['machine'], registers });
  const machineInterval = new Gauge({ name: 'sysmonstm_machine_interval_seconds', help: 'Sampling interval of the machine collector.', labelNames: ['machine'], registers });
  const machineSeq = new Gauge({ name: 'sysmonstm_machine_last_seq', help: 'seq of the latest report.', labelNames: ['machine'], registers });

  const fleetGauges = new Map<string, Gauge>();
  for (const m of FLEET_METRICS) {
    if (fleetGauges.has(m.name)) continue;
    fleetGauges.set(m.name, new Gauge({ name: m.name, help: m.help, labelNames: ['machine', ...Object.keys(m.extra ?? {})], registers }));
  }

  /** A counter shown with the value a part counted itself. */
  const setCounter = (counter: Counter, value: number, labels?: Record<string, string>) => {
    if (labels) counter.inc(labels, value);
    else counter.inc(value);
  };

  function refresh(): void {
    const ingest = sources.ingest();
    reports.reset();
    setCounter(reports, ingest.reportsAccepted, { outcome: 'accepted' });
    setCounter(reports, ingest.reportsDuplicate, { outcome: 'duplicate' });
    setCounter(reports, ingest.reportsRejected, { outcome: 'rejected' });
    liveSuperseded.reset();
    setCounter(liveSuperseded, ingest.liveUpdatesSuperseded);
    streams.set(ingest.streamsOpen);

    const history = sources.history();
    historyRows.reset();
    setCounter(historyRows, history.writtenRows, { outcome: 'written' });
    setCounter(historyRows, history.rejectedRows, { outcome: 'rejected' });
    setCounter(historyRows, history.spooledRows, { outcome: 'spooled' });
    historyFailures.reset();
    setCounter(historyFailures, history.failedAttempts);
    historyPending.set(history.pendingRows);

    spoolRows.reset();
    spoolBytes.reset();
    const spool = sources.spool?.();
    if (spool && finite(spool.rows)) spoolRows.set(spool.rows);
    if (spool && finite(spool.bytes)) spoolBytes.set(spool.bytes);

    viewers.set(sources.viewers());

    const edge = sources.edge();
    edgeConfigured.set(edge ? 1 : 0);
    edgeConnected.set(edge?.connected ? 1 : 0);
    edgeLag.set(edge ? edge.lagMs / 1000 : 0);
    for (const c of [edgeBytes, edgeFrames, edgeConnects, edgeErrors, edgeRefused]) c.reset();
    edgeViews.set(edge?.views ?? 0);
    edgeShardSockets.set({ state: 'open' }, edge?.shardsConnected ?? 0);
    edgeShardSockets.set({ state: 'down' }, edge ? Math.max(0, edge.shards - edge.shardsConnected) : 0);
    if (edge) {
      setCounter(edgeRefused, edge.framesRefused);
      setCounter(edgeFrames, edge.configsSent, { kind: 'config' });
      setCounter(edgeFrames, edge.snapshotPartsSent, { kind: 'snapshot_part' });
      setCounter(edgeBytes, edge.bytesSent);
      setCounter(edgeFrames, edge.snapshotsSent, { kind: 'snapshot' });
      setCounter(edgeFrames, edge.deltasSent, { kind: 'delta' });
      setCounter(edgeConnects, edge.connects);
      setCounter(edgeErrors, edge.edgeErrors);
    }

    const backup = sources.backup();
    for (const m of [backupRuns, backupLastSuccess, backupLastDuration, backupLastBytes]) m.reset();
    if (backup) {
      setCounter(backupRuns, backup.succeeded, { outcome: 'success' });
      setCounter(backupRuns, backup.failed, { outcome: 'failure' });
      if (backup.lastSuccessAtMs !== null) backupLastSuccess.set(backup.lastSuccessAtMs / 1000);
      if (backup.lastDurationMs !== null) backupLastDuration.set(backup.lastDurationMs / 1000);
      if (backup.lastBytes !== null) backupLastBytes.set(backup.lastBytes);
    }

    info.reset();
    info.set({ version: sources.version, history: sources.historyPath, state: sources.stateKind }, 1);
    startTime.set(sources.startedAtMs / 1000);

    // The fleet: rebuilt at every scrape, so a machine the hub forgot leaves no stale series behind.
    for (const g of [machineInfo, machineUp, machineStatus, machineLastSeen, machineInterval, machineSeq, machines, ...fleetGauges.values()]) g.reset();
    const byStatus: Record<MachineStatus, number> = { healthy: 0, warning: 0, critical: 0, offline: 0 };
    for (const record of sources.fleet.records()) {
      const machine = record.id;
      const status = sources.fleet.get(machine)?.status ?? 'offline';
      byStatus[status]++;
      machineInfo.set({ machine, hostname: record.hostname, name: record.displayName }, 1);
      machineUp.set({ machine }, status === 'offline' ? 0 : 1);
      for (const s of MACHINE_STATUSES) machineStatus.set({ machine, status: s }, s === status ? 1 : 0);
      machineLastSeen.set({ machine }, record.lastSeenMs / 1000);
      machineInterval.set({ machine }, record.intervalMs / 1000);
      machineSeq.set({ machine }, record.lastSeq);
      for (const m of FLEET_METRICS) {
        const value = record.metrics[m.source];
        if (value === null || value === undefined || !Number.isFinite(value)) continue;
        fleetGauges.get(m.name)!.set(m.extra ? { machine, ...m.extra } : { machine }, value);
      }
    }
    for (const s of MACHINE_STATUSES) machines.set({ status: s }, byStatus[s]);
  }

  return {
    contentType: registry.contentType,
    observeIngestLatency(latencyMs) {
      ingestLatency.observe(latencyMs / 1000);
    },
    timeHistoryWrites(store) {
      return {
        async write(rows) {
          const startedMs = performance.now();
          await store.write(rows);
          historyWrite.observe((performance.now() - startedMs) / 1000);
          historyBatch.observe(rows.length);
        },
      };
    },
    async render() {
      refresh();
      return (await registry.metrics()) + (await processMetrics().metrics());
    },
  };
}

/** Every headline metric is exported (checked by the tests, so a new metric cannot be forgotten here). */
export function unexportedMetrics(): MetricName[] {
  const exported = new Set(FLEET_METRICS.map((m) => m.source));
  return METRIC_NAMES.filter((m) => !exported.has(m));
}
