-- Raw history: one wide row per accepted report. Common to both paths.
-- One double precision column per headline metric (proto/metrics.ts METRIC_NAMES); a new metric
-- needs a new migration that adds its column here and to the rollups.
CREATE TABLE metrics (
  time timestamptz NOT NULL,
  machine_id text NOT NULL,
  seq bigint NOT NULL,
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
  -- A collector replays a report with the same seq and timestamp after a lost ack: stored once.
  -- (time is part of the key because a TimescaleDB unique constraint must include the partitioning column.)
  CONSTRAINT metrics_machine_seq_time_key UNIQUE (machine_id, seq, time)
);

-- Every history query reads one machine over a time range, newest data most often.
CREATE INDEX metrics_machine_time_idx ON metrics (machine_id, time DESC);
