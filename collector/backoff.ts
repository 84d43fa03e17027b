// Reconnect delays for the collector's stream: exponential backoff with full jitter (a uniformly
// random delay between 0 and min(cap, base * 2^attempt)), so a fleet that lost its hub at once does
// not reconnect in one burst. The attempt counter goes back to 0 once a connection has stayed healthy
// for a while, so a single blip after hours of uptime retries quickly. Pure: randomness is a parameter.
import { backoffCeilingMs, fullJitterMs } from '../proto/backoff.ts';

export interface BackoffOptions {
  readonly baseMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
  /** A connection up at least this long resets the attempt counter. */
  readonly healthyAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 250, maxMs: 30_000, healthyAfterMs: 10_000 });

/** Delay before reconnect attempt `attempt` (0 = the first retry). `random()` returns [0, 1). */
export function backoffDelayMs(attempt: number, options: Pick<BackoffOptions, 'baseMs' | 'maxMs'>, random: () => number): number {
  return Math.min(fullJitterMs(backoffCeilingMs(attempt, options.baseMs, options.maxMs), random), options.maxMs);
}

/** The attempt number for the next reconnect after a connection that lasted `connectedForMs`. */
export function nextAttempt(previousAttempt: number, connectedForMs: number, options: Pick<BackoffOptions, 'healthyAfterMs'>): number {
  return connectedForMs >= options.healthyAfterMs ? 0 : previousAttempt + 1;
}
