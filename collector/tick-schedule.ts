// Clock-anchored sampling ticks: tick k is at anchor + k * interval, so sampling does not drift by the
// time each sample takes. A tick missed entirely (a slow sample, a suspended machine) is skipped rather
// than sampled late in a burst. Pure.

/** The first tick strictly after `nowMs`. */
export function nextTickMs(anchorMs: number, intervalMs: number, nowMs: number): number {
  if (!(intervalMs > 0)) throw new RangeError(`interval must be positive, got ${intervalMs}`);
  if (nowMs < anchorMs) return anchorMs;
  return anchorMs + (Math.floor((nowMs - anchorMs) / intervalMs) + 1) * intervalMs;
}
