-- Physical ranges of the headline metrics (the bounds hub/validate-report.ts RANGES puts on a report,
-- carried through proto/metrics.ts summarize: rates are sums over at most 256 devices of at most
-- 2^50 B/s). A value outside them (1e308 bytes) made avg() in the rollups overflow ("value out of
-- range: overflow"), which broke the 1 min / 1 h history of that machine and every later rollup
-- maintenance for all machines. With the check, no stored value can make a rollup overflow: the sums
-- and squared deviations avg() keeps stay far inside the double range.
-- Rows stored before this migration with values outside the ranges keep the row, without the value.
UPDATE metrics SET cpu_percent = NULL WHERE NOT (cpu_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET cpu_user_percent = NULL WHERE NOT (cpu_user_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET cpu_system_percent = NULL WHERE NOT (cpu_system_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET cpu_iowait_percent = NULL WHERE NOT (cpu_iowait_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET cpu_steal_percent = NULL WHERE NOT (cpu_steal_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET memory_percent = NULL WHERE NOT (memory_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET memory_used_bytes = NULL WHERE NOT (memory_used_bytes BETWEEN 0 AND 1152921504606846976);
UPDATE metrics SET swap_percent = NULL WHERE NOT (swap_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET disk_percent = NULL WHERE NOT (disk_percent BETWEEN 0 AND 100.5);
UPDATE metrics SET load_avg_1m = NULL WHERE NOT (load_avg_1m BETWEEN 0 AND 1000000);
UPDATE metrics SET load_avg_5m = NULL WHERE NOT (load_avg_5m BETWEEN 0 AND 1000000);
UPDATE metrics SET load_avg_15m = NULL WHERE NOT (load_avg_15m BETWEEN 0 AND 1000000);
UPDATE metrics SET network_recv_bytes_sec = NULL WHERE NOT (network_recv_bytes_sec BETWEEN 0 AND 288230376151711744);
UPDATE metrics SET network_sent_bytes_sec = NULL WHERE NOT (network_sent_bytes_sec BETWEEN 0 AND 288230376151711744);
UPDATE metrics SET disk_read_bytes_sec = NULL WHERE NOT (disk_read_bytes_sec BETWEEN 0 AND 288230376151711744);
UPDATE metrics SET disk_write_bytes_sec = NULL WHERE NOT (disk_write_bytes_sec BETWEEN 0 AND 288230376151711744);
UPDATE metrics SET process_count = NULL WHERE NOT (process_count BETWEEN 0 AND 100000000);
UPDATE metrics SET temperature_c = NULL WHERE NOT (temperature_c BETWEEN -273.15 AND 1000);
UPDATE metrics SET uptime_seconds = NULL WHERE NOT (uptime_seconds BETWEEN 0 AND 10000000000);
ALTER TABLE metrics ADD CONSTRAINT metrics_values_in_range CHECK (
  (cpu_percent IS NULL OR cpu_percent BETWEEN 0 AND 100.5) AND
  (cpu_user_percent IS NULL OR cpu_user_percent BETWEEN 0 AND 100.5) AND
  (cpu_system_percent IS NULL OR cpu_system_percent BETWEEN 0 AND 100.5) AND
  (cpu_iowait_percent IS NULL OR cpu_iowait_percent BETWEEN 0 AND 100.5) AND
  (cpu_steal_percent IS NULL OR cpu_steal_percent BETWEEN 0 AND 100.5) AND
  (memory_percent IS NULL OR memory_percent BETWEEN 0 AND 100.5) AND
  (memory_used_bytes IS NULL OR memory_used_bytes BETWEEN 0 AND 1152921504606846976) AND
  (swap_percent IS NULL OR swap_percent BETWEEN 0 AND 100.5) AND
  (disk_percent IS NULL OR disk_percent BETWEEN 0 AND 100.5) AND
  (load_avg_1m IS NULL OR load_avg_1m BETWEEN 0 AND 1000000) AND
  (load_avg_5m IS NULL OR load_avg_5m BETWEEN 0 AND 1000000) AND
  (load_avg_15m IS NULL OR load_avg_15m BETWEEN 0 AND 1000000) AND
  (network_recv_bytes_sec IS NULL OR network_recv_bytes_sec BETWEEN 0 AND 288230376151711744) AND
  (network_sent_bytes_sec IS NULL OR network_sent_bytes_sec BETWEEN 0 AND 288230376151711744) AND
  (disk_read_bytes_sec IS NULL OR disk_read_bytes_sec BETWEEN 0 AND 288230376151711744) AND
  (disk_write_bytes_sec IS NULL OR disk_write_bytes_sec BETWEEN 0 AND 288230376151711744) AND
  (process_count IS NULL OR process_count BETWEEN 0 AND 100000000) AND
  (temperature_c IS NULL OR temperature_c BETWEEN -273.15 AND 1000) AND
  (uptime_seconds IS NULL OR uptime_seconds BETWEEN 0 AND 10000000000)
);
