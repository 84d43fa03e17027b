// The edge forwarder's reconnect delay (hub/edge/backoff.ts): full jitter, capped.
import { describe, expect, it } from 'vitest';
import { fullJitterDelayMs } from '../../../hub/edge/backoff.ts';

describe('full-jitter backoff', () => {
  it.each([
    [0, 0.999, 499],
    [3, 0.5, 2000],
    [20, 0.999, 29_970],
    [20, 0, 0],
  ])('attempt %i with random %f → %i ms', (attempt, r, expected) => {
    expect(fullJitterDelayMs(attempt, { baseMs: 500, maxMs: 30_000 }, () => r)).toBe(expected);
  });
});
