-- TimescaleDB path: metrics becomes a hypertable (1 day chunks), compressed after a day with one
-- segment per machine, rolled up by continuous aggregates metrics_1m (from raw) and metrics_1h (from
-- metrics_1m, a hierarchical aggregate: the average of the minute averages). Both aggregates answer
-- in real time (materialized_only = false): buckets not yet materialised are computed from the
-- source on the fly, so freshly written rows show at every step.
-- Refresh and retention policies are not created here: their intervals come from the hub's
-- retention options, and the hub reconciles them at every start (hub/history/timescale-policies.ts).
SELECT create_hypertable('metrics', by_range('time', INTERVAL '1 day'));

ALTER TABLE metrics SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'machine_id',
  timescaledb.compress_orderby = 'time DESC, seq DESC'
);
SELECT add_compression_policy('metrics', compress_after => INTERVAL '1 day');

CREATE MATERIALIZED VIEW metrics_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '1 minute', time) AS bucket,
  machine_id,
  avg(cpu_percent) AS cpu_percent,
  avg(cpu_user_percent) AS cpu_user_percent,
  avg(cpu_system_percent) AS cpu_system_percent,
  avg(cpu_iowait_percent) AS cpu_iowait_percent,
  avg(cpu_steal_percent) AS cpu_steal_percent,
  avg(memory_percent) AS memory_percent,
  avg(memory_used_bytes) AS memory_used_bytes,
  avg(swap_percent) AS swap_percent,
  avg(disk_percent) AS disk_percent,
  avg(load_avg_1m) AS load_avg_1m,
  avg(load_avg_5m) AS load_avg_5m,
  avg(load_avg_15m) AS load_avg_15m,
  avg(network_recv_bytes_sec) AS network_recv_bytes_sec,
  avg(network_sent_bytes_sec) AS network_sent_bytes_sec,
  avg(disk_read_bytes_sec) AS disk_read_bytes_sec,
  avg(disk_write_bytes_sec) AS disk_write_bytes_sec,
  avg(process_count) AS process_count,
  avg(temperature_c) AS temperature_c,
  avg(uptime_seconds) AS uptime_seconds,
  max(cpu_percent) AS cpu_percent_max,
  count(*) AS samples
FROM metrics
GROUP BY bucket, machine_id
WITH NO DATA;

CREATE MATERIALIZED VIEW metrics_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '1 hour', bucket) AS bucket,
  machine_id,
  avg(cpu_percent) AS cpu_percent,
  avg(cpu_user_percent) AS cpu_user_percent,
  avg(cpu_system_percent) AS cpu_system_percent,
  avg(cpu_iowait_percent) AS cpu_iowait_percent,
  avg(cpu_steal_percent) AS cpu_steal_percent,
  avg(memory_percent) AS memory_percent,
  avg(memory_used_bytes) AS memory_used_bytes,
  avg(swap_percent) AS swap_percent,
  avg(disk_percent) AS disk_percent,
  avg(load_avg_1m) AS load_avg_1m,
  avg(load_avg_5m) AS load_avg_5m,
  avg(load_avg_15m) AS load_avg_15m,
  avg(network_recv_bytes_sec) AS network_recv_bytes_sec,
  avg(network_sent_bytes_sec) AS network_sent_bytes_sec,
  avg(disk_read_bytes_sec) AS disk_read_bytes_sec,
  avg(disk_write_bytes_sec) AS disk_write_bytes_sec,
  avg(process_count) AS process_count,
  avg(temperature_c) AS temperature_c,
  avg(uptime_seconds) AS uptime_seconds,
  max(cpu_percent_max) AS cpu_percent_max,
  sum(samples)::bigint AS samples
FROM metrics_1m
GROUP BY 1, machine_id
WITH NO DATA;

CREATE INDEX metrics_1m_machine_bucket_idx ON metrics_1m (machine_id, bucket DESC);
CREATE INDEX metrics_1h_machine_bucket_idx ON metrics_1h (machine_id, bucket DESC);
