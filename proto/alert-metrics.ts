// What an alert rule can watch: the REST/gRPC contract shared by the hub (validation) and the
// dashboard's rule editor. Checked at compile time: every entry is a headline metric (proto/metrics.ts),
// a source count (proto/source-health.ts) or `offline`; a misspelt or removed name fails tsc.
import type { MetricName } from './metrics.ts';
import type { SourceAlertMetric } from './source-health.ts';

/** What a rule may watch besides the headline metrics and source counts: seconds without a report. */
export type OfflineMetric = 'offline';

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
] as const satisfies readonly (MetricName | SourceAlertMetric | OfflineMetric)[];
export type AlertMetric = (typeof ALERT_METRICS)[number];

/**
 * An alert's value with its unit, the same in notifications and the dashboard: "75.6 %", "62.0 °C",
 * "1.2 MB/s", "1.53" (load), "silent for 75 s" (offline); "no value" when there is none.
 */
export function formatAlertValue(metric: string, value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'no value';
  if (metric === 'offline') return `silent for ${Math.round(value)} s`;
  if (metric.endsWith('_percent')) return `${value.toFixed(1)} %`;
  if (metric === 'temperature_c') return `${value.toFixed(1)} °C`;
  if (metric.endsWith('_bytes_sec')) {
    const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
    let v = Math.abs(value);
    let u = 0;
    while (v >= 999.5 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return `${value < 0 ? '-' : ''}${v.toFixed(u === 0 || v >= 100 ? 0 : 1)} ${units[u]}`;
  }
  return String(Math.round(value * 100) / 100);
}
