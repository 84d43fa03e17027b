// What an alert rule can watch: the REST/gRPC contract shared by the hub (validation) and the
// dashboard's rule editor.
export const ALERT_METRICS = [
  'cpu_percent',
  'memory_percent',
  'disk_percent',
  'load_avg_1m',
  'load_avg_5m',
  'load_avg_15m',
  'network_recv_bytes_sec',
  'network_sent_bytes_sec',
  'temperature_c',
  'offline',
  // From the machine's sources (proto/source-health.ts): counts of failing things, the hottest GPU.
  'containers_failing',
  'services_failed',
  'disks_failing',
  'gpu_temperature_c',
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];
