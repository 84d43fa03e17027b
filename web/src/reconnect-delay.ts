// How long to wait before the next reconnect attempt: exponential backoff with full jitter, capped, so a
// restarted hub or relay is not hit by every viewer in the same second. Pure: the random source is passed in.
import { backoffCeilingMs, equalJitterMs } from '../../proto/backoff.ts';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before attempt number `attempt` (0 = first retry). The ceiling doubles per attempt up to maxMs;
 * the delay is drawn in [ceiling/2, ceiling] ("equal jitter": never instant, never synchronized).
 */
export function reconnectDelayMs(attempt: number, random: () => number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return equalJitterMs(backoffCeilingMs(attempt, options.baseMs, options.maxMs), random);
}
