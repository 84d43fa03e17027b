import { describe, expect, test } from 'vitest';
import { ConfigError, parseHubConfig } from '../../hub/config.ts';

describe('hub config', () => {
  test('defaults match the documented ones', () => {
    const c = parseHubConfig([], {});
    expect(c).toMatchObject({ httpPort: 8000, grpcPort: 50051, dataDir: './data', redisUrl: undefined, timescaleUrl: undefined, edgePushIntervalMs: 1000, logFormat: 'json' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('env and flags, flags win', () => {
    const c = parseHubConfig(['--http-port', '9001', '--data-dir=/tmp/x'], { HTTP_PORT: '9000', GRPC_PORT: '50061', REDIS_URL: 'redis://127.0.0.1:6379', EDGE_PUSH_INTERVAL: '0.5', EDGE_URL: 'wss://x.workers.dev/ingest', EDGE_API_KEY: 'k' });
    expect(c).toMatchObject({ httpPort: 9001, grpcPort: 50061, dataDir: '/tmp/x', redisUrl: 'redis://127.0.0.1:6379', edgePushIntervalMs: 500 });
  });

  test.each([
    [{ HTTP_PORT: 'eighty' }, /HTTP_PORT/],
    [{ GRPC_PORT: '70000' }, /GRPC_PORT/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL: must start with redis:\/\//],
    [{ TIMESCALE_URL: 'mysql://x' }, /TIMESCALE_URL/],
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [{ EDGE_URL: 'wss://x/ingest' }, /EDGE_API_KEY must be set/],
  ])('%o is refused with a message naming the variable', (env, message) => {
    expect(() => parseHubConfig([], env)).toThrow(message);
  });

  test('FORGET_OFFLINE_AFTER: 7 days by default, a duration, 0 = never, the flag wins', () => {
    expect(parseHubConfig([], {}).forgetOfflineAfterMs).toBe(7 * 86_400_000);
    expect(parseHubConfig([], { FORGET_OFFLINE_AFTER: '36h' }).forgetOfflineAfterMs).toBe(36 * 3_600_000);
    expect(parseHubConfig([], { FORGET_OFFLINE_AFTER: '0' }).forgetOfflineAfterMs).toBe(0);
    expect(parseHubConfig(['--forget-offline-after', '2d'], { FORGET_OFFLINE_AFTER: '1h' }).forgetOfflineAfterMs).toBe(2 * 86_400_000);
    expect(() => parseHubConfig([], { FORGET_OFFLINE_AFTER: 'soon' })).toThrow(/FORGET_OFFLINE_AFTER/);
  });

  test('unknown flags are an error', () => {
    expect(() => parseHubConfig(['--http-prot', '1'], {})).toThrow(ConfigError);
    expect(() => parseHubConfig(['--http-port'], {})).toThrow(/needs a value/);
  });
});
