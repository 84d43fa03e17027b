// hub/gateway/login-throttle.ts, pure: the wrong-token throttle, per address and per IPv6 /64,
// bounded in memory.
import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from '../../../hub/gateway/login-throttle.ts';

describe('login throttle', () => {
  it('allows a burst of failures, then asks to wait, refilling over time; per address and per /64', () => {
    const t = createLoginThrottle({ perMinute: 6, burst: 3 });
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfterSeconds('10.0.0.1', 0)).toBeUndefined();
      t.failed('10.0.0.1', 0);
    }
    expect(t.retryAfterSeconds('10.0.0.1', 0)).toBe(10);
    expect(t.retryAfterSeconds('10.0.0.2', 0)).toBeUndefined();
    expect(t.retryAfterSeconds('10.0.0.1', 5_000)).toBe(5);
    expect(t.retryAfterSeconds('10.0.0.1', 10_000)).toBeUndefined();
    for (let i = 0; i < 3; i++) t.failed(`2001:db8:1:2::${i + 1}`, 0);
    expect(t.retryAfterSeconds('2001:db8:1:2::99', 0)).toBe(10);
    expect(t.retryAfterSeconds('::ffff:10.0.0.1', 0)).toBe(10);
  });

  it('is bounded in memory', () => {
    const t = createLoginThrottle({ maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) t.failed(`10.1.${i >> 8}.${i & 255}`, i);
    expect(t.trackedAddresses).toBe(100);
  });
});
