// Reconnect delays for the edge forwarder: exponential backoff with full jitter (a uniformly random
// delay between 0 and the capped exponential), so many hubs that lost the edge at once do not all
// come back in the same instant. Pure: the random source is a parameter.
import { backoffCeilingMs, fullJitterMs } from '../../proto/backoff.ts';

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Delay before reconnect attempt `attempt` (0 = the first retry). `random()` returns [0, 1). */
export function fullJitterDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  return fullJitterMs(backoffCeilingMs(attempt, options.baseMs, options.maxMs), random);
}
