-- Plain PostgreSQL path (no timescaledb extension): the same two rollup tiers as ordinary tables,
-- filled by the hub itself (HistoryStore.maintain upserts the averages of recent buckets and deletes
-- rows past retention). Same columns as the TimescaleDB continuous aggregates, so queries are shared.
CREATE TABLE metrics_1m (
  bucket timestamptz NOT NULL,
  machine_id text NOT NULL,
  cpu_percent double precision,
  cpu_user_percent double precision,
  cpu_system_percent double precision,
  cpu_iowait_percent double precision,
  cpu_steal_percent double precision,
  memory_percent double precision,
  memory_used_bytes double precision,
  swap_percent double precision,
  disk_percent double precision,
  load_avg_1m double precision,
  load_avg_5m double precision,
  load_avg_15m double precision,
  network_recv_bytes_sec double precision,
  network_sent_bytes_sec double precision,
  disk_read_bytes_sec double precision,
  disk_write_bytes_sec double precision,
  process_count double precision,
  temperature_c double precision,
  uptime_seconds double precision,
  cpu_percent_max double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (machine_id, bucket)
);
COMMENT ON TABLE metrics_1m IS '1 minute averages of metrics, maintained by the hub';

CREATE TABLE metrics_1h (
  bucket timestamptz NOT NULL,
  machine_id text NOT NULL,
  cpu_percent double precision,
  cpu_user_percent double precision,
  cpu_system_percent double precision,
  cpu_iowait_percent double precision,
  cpu_steal_percent double precision,
  memory_percent double precision,
  memory_used_bytes double precision,
  swap_percent double precision,
  disk_percent double precision,
  load_avg_1m double precision,
  load_avg_5m double precision,
  load_avg_15m double precision,
  network_recv_bytes_sec double precision,
  network_sent_bytes_sec double precision,
  disk_read_bytes_sec double precision,
  disk_write_bytes_sec double precision,
  process_count double precision,
  temperature_c double precision,
  uptime_seconds double precision,
  cpu_percent_max double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (machine_id, bucket)
);
COMMENT ON TABLE metrics_1h IS '1 hour averages of the metrics_1m averages, maintained by the hub';

-- How far each tier is materialised: buckets from here on are computed from the source on the fly
-- (like a real-time continuous aggregate), so freshly written rows show at every step.
CREATE TABLE history_rollup_state (
  tier text PRIMARY KEY,
  materialized_until timestamptz NOT NULL
);

-- Retention deletes by time across all machines.
CREATE INDEX metrics_time_idx ON metrics (time);
CREATE INDEX metrics_1m_bucket_idx ON metrics_1m (bucket);
CREATE INDEX metrics_1h_bucket_idx ON metrics_1h (bucket);
