// The pure decisions behind the CLI's words: what a failed hub URL means (collector/hub-port-check.ts),
// what the hub says before it starts (hub/startup-notes.ts), and the defaults that depend on the command
// and on the terminal (hub/config.ts, collector/config.ts).
import { describe, expect, test } from 'vitest';
import { parseCollectorConfig } from '../../collector/config.ts';
import { diagnoseHubPort } from '../../collector/hub-port-check.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { dashboardUrl, startupNotes } from '../../hub/startup-notes.ts';

const HUB_HEALTH = JSON.stringify({ status: 'ok', uptimeSeconds: 3, history: 'timescaledb', state: 'memory' });

describe('diagnoseHubPort', () => {
  test.each([
    ['http://hub.lan:8000', { tls: false, http1: { status: 200, body: HUB_HEALTH } }, "that is the hub's dashboard port; the gRPC port is 50051"],
    ['https://hub.lan:8000', { tls: false, http1: { status: 200, body: HUB_HEALTH } }, 'like https://hub.lan:50051'],
    ['http://hub.lan:8080', { tls: false, http1: { status: 404, body: '<html>' } }, 'an HTTP/1.1 server answers there (status 404)'],
    ['http://hub.lan:50051', { tls: true }, 'use https://, like https://hub.lan:50051'],
  ])('%s %j → %s', (url, facts, expected) => {
    expect(diagnoseHubPort(url, facts)).toContain(expected);
    expect(diagnoseHubPort(url, facts)).toContain(`AGGREGATOR_URL (--hub) ${url}`);
  });

  test('nothing to say about a port that is closed, or https:// to TLS (a real gRPC failure)', () => {
    expect(diagnoseHubPort('http://hub.lan:50051', { tls: false })).toBeUndefined();
    expect(diagnoseHubPort('https://hub.lan:50051', { tls: true })).toBeUndefined();
  });
});

describe('startupNotes', () => {
  const notes = (env: Record<string, string>, command: 'hub' | 'all', embeddedDatabaseExists = false) =>
    startupNotes(parseHubConfig([], env, { command }), { embeddedDatabaseExists });

  test('first the dashboard, then the first-start database setup', () => {
    const [dashboard, setup, ...rest] = notes({}, 'all');
    expect(dashboard).toEqual({ level: 'info', msg: 'Dashboard: http://127.0.0.1:8000/' });
    expect(setup.msg).toBe('first start: setting up the embedded database in data/pgdata (a few seconds)');
    expect(rest).toEqual([]);
    expect(notes({}, 'all', true).map((n) => n.msg)).toEqual(['Dashboard: http://127.0.0.1:8000/']);
    expect(notes({ TIMESCALE_URL: 'postgres://db/x' }, 'all').map((n) => n.msg)).toEqual(['Dashboard: http://127.0.0.1:8000/']);
    expect(notes({ HTTP_PORT: '0' }, 'all', true)).toEqual([]);
  });

  test('`hub` warns without a collector token on a reachable gRPC port', () => {
    expect(notes({}, 'hub', true).filter((n) => n.level === 'warn').map((n) => n.msg)).toEqual([expect.stringContaining('no COLLECTOR_TOKEN: anyone who reaches 0.0.0.0:50051')]);
    expect(notes({ COLLECTOR_TOKEN: 'x'.repeat(16) }, 'hub', true).filter((n) => n.level === 'warn')).toEqual([]);
    expect(notes({ COLLECTOR_TOKENS_FILE: '/etc/tokens' }, 'hub', true).filter((n) => n.level === 'warn')).toEqual([]);
    expect(notes({ GRPC_HOST: '127.0.0.1' }, 'hub', true).filter((n) => n.level === 'warn')).toEqual([]);
  });

  test('dashboardUrl: a wildcard bind is opened at 127.0.0.1, IPv6 in brackets', () => {
    expect(dashboardUrl('0.0.0.0', 8000)).toBe('http://127.0.0.1:8000/');
    expect(dashboardUrl('::1', 8000)).toBe('http://[::1]:8000/');
    expect(dashboardUrl('hub.lan', 80)).toBe('http://hub.lan:80/');
  });
});

describe('defaults that depend on the command and the terminal', () => {
  test('gRPC: all interfaces for hub, 127.0.0.1 for all; GRPC_HOST wins', () => {
    expect(parseHubConfig([], {}).grpcHost).toBe('0.0.0.0');
    expect(parseHubConfig([], {}, { command: 'hub' }).grpcHost).toBe('0.0.0.0');
    expect(parseHubConfig([], {}, { command: 'all' }).grpcHost).toBe('127.0.0.1');
    expect(parseHubConfig([], { GRPC_HOST: '0.0.0.0' }, { command: 'all' }).grpcHost).toBe('0.0.0.0');
  });

  test('log format: pretty on a terminal, JSON otherwise; LOG_FORMAT wins', () => {
    expect(parseHubConfig([], {}).logFormat).toBe('json');
    expect(parseHubConfig([], {}, { stdoutIsTty: true }).logFormat).toBe('pretty');
    expect(parseHubConfig([], { LOG_FORMAT: 'json' }, { stdoutIsTty: true }).logFormat).toBe('json');
    expect(parseCollectorConfig([], {}, { hostname: 'h' }).logFormat).toBe('json');
    expect(parseCollectorConfig([], {}, { hostname: 'h', stdoutIsTty: true }).logFormat).toBe('pretty');
    expect(parseCollectorConfig(['--log-format', 'json'], {}, { hostname: 'h', stdoutIsTty: true }).logFormat).toBe('json');
  });

  test('an empty flag is refused; an empty variable is the default', () => {
    expect(() => parseCollectorConfig(['--id', ''], {}, { hostname: 'h' })).toThrow('option --id must not be empty');
    expect(() => parseCollectorConfig(['--name='], {}, { hostname: 'h' })).toThrow('option --name must not be empty');
    expect(parseCollectorConfig([], { MACHINE_ID: '' }, { hostname: 'h' }).machineId).toBe('h');
  });
});
