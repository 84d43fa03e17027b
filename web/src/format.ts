// Number and time formatting for the dashboard: one place decides units and precision so cards,
// tables, tooltips and chart axes all read the same. Pure functions, table-tested.

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Missing values render as an en dash, never as "NaN" or "undefined". */
export const MISSING = '–';

function usable(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** 1234 → "1.2 kB" (decimal units, like network tools); 3 significant digits at most. */
export function formatBytes(value: number | null | undefined): string {
  if (!usable(value)) return MISSING;
  const sign = value < 0 ? '-' : '';
  let v = Math.abs(value);
  let unit = 0;
  while (v >= 999.5 && unit < BYTE_UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  const digits = unit === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

export function formatBytesPerSec(value: number | null | undefined): string {
  return usable(value) ? `${formatBytes(value)}/s` : MISSING;
}

export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (!usable(value)) return MISSING;
  return `${value.toFixed(digits)}%`;
}

export function formatLoad(value: number | null | undefined): string {
  return usable(value) ? value.toFixed(2) : MISSING;
}

export function formatCelsius(value: number | null | undefined): string {
  return usable(value) ? `${value.toFixed(1)} °C` : MISSING;
}

export function formatCount(value: number | null | undefined): string {
  return usable(value) ? Math.round(value).toLocaleString('en-US') : MISSING;
}

/** 93784 → "1d 2h 3m"; under a minute → "42s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (!usable(seconds) || seconds < 0) return MISSING;
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** How long ago, coarse enough to not flicker: "just now", "3 s ago", "5 min ago", "2 h ago", "4 d ago". */
export function formatAgo(elapsedMs: number | null | undefined): string {
  if (!usable(elapsedMs)) return 'never';
  const s = Math.floor(Math.max(0, elapsedMs) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** A collection interval: "500 ms", "1 s", "2.5 s", "1m 0s". */
export function formatInterval(ms: number | null | undefined): string {
  if (!usable(ms) || ms <= 0) return MISSING;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return formatDuration(ms / 1000);
}
