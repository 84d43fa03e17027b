// Durations in configuration: plain seconds ("90", "0.5") or a number with one unit suffix
// ("30s", "15m", "6h", "1d", "1w"). Pure; the config schema turns a failure into an error naming the
// variable.

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds in `text`, or undefined when it is not a duration. Never negative, never NaN or infinite. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * (match[2] ? UNIT_SECONDS[match[2].toLowerCase()] : 1);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** The shortest exact spelling of a duration in seconds ("1d", "6h", "90s"), for logs and docs. */
export function formatDuration(seconds: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    const size = UNIT_SECONDS[unit];
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
