// The relay's viewer limits, pure: token buckets, the per-address connection limiter (bounded in
// memory), the client address taken from CF-Connecting-IP, and the relay config for them.
import { describe, expect, it } from 'vitest';
import { clientAddress, ConnectLimiter, fullBucket, perMinute, secondsUntilToken, takeToken } from '../../durable-objects/viewer-limits.ts';
import { parseRelayConfig, RELAY_DEFAULTS } from '../../durable-objects/relay-config.ts';

describe('token bucket', () => {
  it('allows a burst, then refills evenly', () => {
    const limit = perMinute(60); // 1 a second, burst 60
    let bucket = fullBucket(limit, 0);
    let allowed = 0;
    for (let i = 0; i < 100; i++) {
      const r = takeToken(bucket, limit, 0);
      bucket = r.bucket;
      if (r.allowed) allowed++;
    }
    expect(allowed).toBe(60);
    expect(takeToken(bucket, limit, 500).allowed).toBe(false);
    expect(secondsUntilToken(bucket, limit)).toBe(1);
    const later = takeToken(bucket, limit, 1000);
    expect(later.allowed).toBe(true);
    expect(later.bucket.tokens).toBeCloseTo(0, 5);
    // never more than the burst, however long it waited; a clock going back does not add tokens
    expect(takeToken(bucket, limit, 10 * 3600_000).bucket.tokens).toBe(59);
    expect(takeToken({ tokens: 0, atMs: 5000 }, limit, 1000).allowed).toBe(false);
  });
});

describe('ConnectLimiter', () => {
  it('limits attempts per address, each address on its own', () => {
    const limiter = new ConnectLimiter(perMinute(3));
    expect([1, 2, 3, 4].map(() => limiter.attempt('198.51.100.7', 0).allowed)).toEqual([true, true, true, false]);
    const refused = limiter.attempt('198.51.100.7', 0);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(limiter.attempt('2001:db8::1', 0).allowed).toBe(true);
    expect(limiter.attempt('198.51.100.7', 20_000).allowed).toBe(true);
  });

  it('stays bounded in memory under many addresses', () => {
    const limiter = new ConnectLimiter(perMinute(10), 1000);
    for (let i = 0; i < 5000; i++) limiter.attempt(`10.0.${i >> 8}.${i & 255}`, i);
    expect(limiter.size).toBe(1000);
  });
});

describe('clientAddress', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['2001:DB8::1', '2001:db8:0:0::/64'],
    // One /64 is one client: every address in it shares one bucket and one socket tag.
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0:0:0:28', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['2001:db8::1::2', 'unknown'],
    ['2001:db8:1:2:3:4:5:6:7', 'unknown'],
    ['1:2:3:4:5:6:7', 'unknown'],
    ['999.1.1.1', 'unknown'],
    ['::', '0:0:0:0::/64'],
    [null, 'unknown'],
    ['', 'unknown'],
    ['1.2.3.4, 5.6.7.8', 'unknown'],
    ['<script>', 'unknown'],
    ['f'.repeat(100), 'unknown'],
  ])('%j → %j', (header, expected) => expect(clientAddress(header)).toBe(expected));
});

describe('relay config: viewer limits', () => {
  it('has defaults that fit a shared office address and reads overrides', () => {
    expect(RELAY_DEFAULTS).toMatchObject({ maxViewersPerIp: 256, viewerConnectsPerMinute: 300, viewerMessagesPerMinute: 30 });
    expect(parseRelayConfig({ MAX_VIEWERS_PER_IP: '3', VIEWER_CONNECTS_PER_MINUTE: '10', VIEWER_MESSAGES_PER_MINUTE: '5' })).toMatchObject({
      maxViewersPerIp: 3,
      viewerConnectsPerMinute: 10,
      viewerMessagesPerMinute: 5,
    });
    expect(() => parseRelayConfig({ MAX_VIEWERS_PER_IP: '0' })).toThrow(/MAX_VIEWERS_PER_IP must be an integer/);
  });
});
