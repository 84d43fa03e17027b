// Limits on public viewers, pure (no Workers APIs, no clock of its own): token buckets for connection
// attempts per client address and for frames per viewer socket. Viewers are read-only and a real
// dashboard sends nothing but "ping" (answered by the runtime without waking the object), so every
// frame that does arrive counts against a small allowance; past it the relay closes the socket.
// Connection attempts are counted per address in memory (a hibernating object forgets them, which
// only ever errs on the side of letting someone in); concurrent sockets per address are counted by
// the runtime itself through a socket tag (see fleet-relay.ts). IPv6 clients count per /64.
import { addressGroup } from '../proto/address-group.ts';

export interface Bucket {
  tokens: number;
  atMs: number;
}

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Most tokens a bucket holds (the allowed burst). */
  burst: number;
}

/** A per-minute allowance as a bucket: refilled evenly, a full minute's worth available at once. */
export function perMinute(count: number): RateLimit {
  return { perSecond: count / 60, burst: Math.max(1, count) };
}

export function fullBucket(limit: RateLimit, nowMs: number): Bucket {
  return { tokens: limit.burst, atMs: nowMs };
}

/** Refills `bucket` up to `nowMs` and takes one token; returns the new bucket and whether a token was there. */
export function takeToken(bucket: Bucket, limit: RateLimit, nowMs: number): { bucket: Bucket; allowed: boolean } {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs);
  const tokens = Math.min(limit.burst, bucket.tokens + (elapsedMs / 1000) * limit.perSecond);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, atMs: nowMs }, allowed: true };
  return { bucket: { tokens, atMs: nowMs }, allowed: false };
}

/** Seconds until the bucket holds a token again (for Retry-After). */
export function secondsUntilToken(bucket: Bucket, limit: RateLimit): number {
  if (bucket.tokens >= 1 || limit.perSecond <= 0) return 1;
  return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
}

/**
 * The client a limit counts, as it may be used in a socket tag: from the header Cloudflare sets
 * (CF-Connecting-IP), an IPv4 address as it is and an IPv6 address by its /64 (one subscriber holds a
 * whole /64; proto/address-group.ts); anything that is not an address shares the bucket "unknown".
 */
export function clientAddress(header: string | null | undefined): string {
  if (!header || header.length > 45) return 'unknown';
  return addressGroup(header.trim()) ?? 'unknown';
}

/** Connection attempts per address, bounded in memory: idle full buckets are forgotten first. */
export class ConnectLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limit: RateLimit;
  private readonly maxAddresses: number;

  constructor(limit: RateLimit, maxAddresses = 50_000) {
    this.limit = limit;
    this.maxAddresses = maxAddresses;
  }

  /** Takes a token for `address`; when refused, how long to wait. */
  attempt(address: string, nowMs: number): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const { bucket, allowed } = takeToken(this.buckets.get(address) ?? fullBucket(this.limit, nowMs), this.limit, nowMs);
    this.buckets.delete(address); // re-insert: Map order is then oldest use first
    this.buckets.set(address, bucket);
    if (this.buckets.size > this.maxAddresses) {
      for (const key of this.buckets.keys()) {
        this.buckets.delete(key);
        if (this.buckets.size <= this.maxAddresses) break;
      }
    }
    return allowed ? { allowed } : { allowed, retryAfterSeconds: secondsUntilToken(bucket, this.limit) };
  }

  get size(): number {
    return this.buckets.size;
  }
}
