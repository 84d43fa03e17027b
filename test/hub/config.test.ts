import { describe, expect, test } from 'vitest';
import { availableParallelism } from 'node:os';
import { ConfigError, MAX_HUB_PROCESSES, parseHubConfig } from '../../hub/config.ts';

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

  test('HUB_PROCESSES: 1 by default, a number 1–64 or auto (one per CPU); above 1 only with Redis and a database server', () => {
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', TIMESCALE_URL: 'postgres://127.0.0.1/x' };
    expect(parseHubConfig([], {}).hubProcesses).toBe(1);
    expect(parseHubConfig([], { HUB_PROCESSES: '1' }).hubProcesses).toBe(1);
    expect(parseHubConfig([], { ...shared, HUB_PROCESSES: '3' }).hubProcesses).toBe(3);
    expect(parseHubConfig(['--hub-processes', 'AUTO'], shared).hubProcesses).toBe(Math.min(MAX_HUB_PROCESSES, availableParallelism()));
    for (const bad of ['0', '-1', '2.5', '65', 'two', '1e1']) expect(() => parseHubConfig([], { ...shared, HUB_PROCESSES: bad }), bad).toThrow(/HUB_PROCESSES: must be auto/);
    expect(() => parseHubConfig([], { HUB_PROCESSES: '2', TIMESCALE_URL: shared.TIMESCALE_URL })).toThrow(/HUB_PROCESSES is 2, which needs REDIS_URL/);
    expect(() => parseHubConfig([], { HUB_PROCESSES: '2', REDIS_URL: shared.REDIS_URL })).toThrow(/needs TIMESCALE_URL/);
    expect(parseHubConfig([], { ...shared, HUB_PROCESSES: '2', DASHBOARD_TOKEN: 'dashboard-token-0123456789' }).hubProcesses).toBe(2);
    expect(() => parseHubConfig([], { HUB_PROCESSES: '2' })).toThrow(ConfigError);
  });

  test('FORGET_OFFLINE_AFTER: 7 days by default, a duration, 0 = never, the flag wins', () => {
    expect(parseHubConfig([], {}).forgetOfflineAfterMs).toBe(7 * 86_400_000);
    expect(parseHubConfig([], { FORGET_OFFLINE_AFTER: '36h' }).forgetOfflineAfterMs).toBe(36 * 3_600_000);
    expect(parseHubConfig([], { FORGET_OFFLINE_AFTER: '0' }).forgetOfflineAfterMs).toBe(0);
    expect(parseHubConfig(['--forget-offline-after', '2d'], { FORGET_OFFLINE_AFTER: '1h' }).forgetOfflineAfterMs).toBe(2 * 86_400_000);
    expect(() => parseHubConfig([], { FORGET_OFFLINE_AFTER: 'soon' })).toThrow(/FORGET_OFFLINE_AFTER/);
  });

  test('RETENTION_RAW_DAYS: 1 day on the embedded database, 7 with TIMESCALE_URL, the variable wins; the order is checked with the default too', () => {
    const url = 'postgres://u@127.0.0.1:5432/db';
    expect(parseHubConfig([], {}).retention).toEqual({ rawDays: 1, oneMinuteDays: 90, oneHourDays: 730 });
    expect(parseHubConfig([], { TIMESCALE_URL: url }).retention).toEqual({ rawDays: 7, oneMinuteDays: 90, oneHourDays: 730 });
    expect(parseHubConfig([], { RETENTION_RAW_DAYS: '7' }).retention.rawDays).toBe(7);
    expect(parseHubConfig(['--retention-raw-days', '2'], { TIMESCALE_URL: url }).retention.rawDays).toBe(2);
    // The order check sees the default of the path the hub will run.
    expect(() => parseHubConfig([], { TIMESCALE_URL: url, RETENTION_1M_DAYS: '5', RETENTION_1H_DAYS: '5' })).toThrow(/RETENTION_RAW_DAYS \(7\) ≤ RETENTION_1M_DAYS \(5\)/);
    expect(parseHubConfig([], { RETENTION_1M_DAYS: '5', RETENTION_1H_DAYS: '5' }).retention.rawDays).toBe(1);
  });

  test('unknown flags are an error', () => {
    expect(() => parseHubConfig(['--http-prot', '1'], {})).toThrow(ConfigError);
    expect(() => parseHubConfig(['--http-port'], {})).toThrow(/needs a value/);
  });
});
