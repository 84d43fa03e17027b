// Wrong dashboard tokens per client address (IPv6 per /64): each failure takes one token from the
// address's bucket (LOGIN_FAILURE_BURST at once, refilled at LOGIN_FAILURES_PER_MINUTE); an address
// with an empty bucket is told to wait (429 with Retry-After) before any further token is even
// compared. Pure, clock passed in; bounded in memory (the least recently seen addresses go first).
import { addressGroup } from '../../proto/address-group.ts';

export const LOGIN_FAILURES_PER_MINUTE = 10;
export const LOGIN_FAILURE_BURST = 10;
const MAX_TRACKED_ADDRESSES = 10_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

export interface LoginThrottle {
  /** Seconds `address` must still wait before a token is looked at, or undefined when it may try. */
  retryAfterSeconds(address: string | undefined, nowMs: number): number | undefined;
  /** Counts one wrong token from `address`. */
  failed(address: string | undefined, nowMs: number): void;
  readonly trackedAddresses: number;
}

export function createLoginThrottle(options: { perMinute?: number; burst?: number; maxAddresses?: number } = {}): LoginThrottle {
  const perSecond = (options.perMinute ?? LOGIN_FAILURES_PER_MINUTE) / 60;
  const burst = options.burst ?? LOGIN_FAILURE_BURST;
  const maxAddresses = options.maxAddresses ?? MAX_TRACKED_ADDRESSES;
  const buckets = new Map<string, Bucket>();
  const key = (address: string | undefined) => (address ? (addressGroup(address) ?? address) : 'unknown');
  const refill = (b: Bucket, nowMs: number): Bucket => ({ tokens: Math.min(burst, b.tokens + (Math.max(0, nowMs - b.atMs) / 1000) * perSecond), atMs: nowMs });
  return {
    retryAfterSeconds(address, nowMs) {
      const b = buckets.get(key(address));
      if (!b) return undefined;
      const now = refill(b, nowMs);
      if (now.tokens >= 1) return undefined;
      return Math.max(1, Math.ceil((1 - now.tokens) / perSecond));
    },
    failed(address, nowMs) {
      const k = key(address);
      const b = refill(buckets.get(k) ?? { tokens: burst, atMs: nowMs }, nowMs);
      buckets.delete(k); // re-inserted: Map order is then least recently seen first
      buckets.set(k, { tokens: Math.max(0, b.tokens - 1), atMs: nowMs });
      for (const old of buckets.keys()) {
        if (buckets.size <= maxAddresses) break;
        buckets.delete(old);
      }
    },
    get trackedAddresses() {
      return buckets.size;
    },
  };
}
