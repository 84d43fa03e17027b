// Exponential backoff, the one formula behind every retry in the project: the collector's and the edge
// forwarder's reconnects, the dashboard's live socket, history writes, notification retries and the
// Redis client. The ceiling doubles per attempt from `baseMs` up to `maxMs`; the jitter helpers draw the
// actual delay under it. Pure: randomness is a parameter.

/** Doublings stop here (2^30 × base exceeds any cap in use); keeps the arithmetic finite. */
export const MAX_BACKOFF_EXPONENT = 30;

/** min(maxMs, baseMs · 2^attempt), attempt clamped to 0..30 and rounded down (0 = the first retry). */
export function backoffCeilingMs(attempt: number, baseMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_BACKOFF_EXPONENT);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

function unit(random: () => number): number {
  return Math.min(Math.max(random(), 0), 1);
}

/** "Full jitter": uniform in [0, ceiling), rounded down. `random()` returns [0, 1). */
export function fullJitterMs(ceilingMs: number, random: () => number): number {
  return Math.floor(unit(random) * ceilingMs);
}

/** "Equal jitter": uniform in [ceiling/2, ceiling], rounded: never instant, never synchronized. */
export function equalJitterMs(ceilingMs: number, random: () => number): number {
  return Math.round(ceilingMs / 2 + (ceilingMs / 2) * unit(random));
}
