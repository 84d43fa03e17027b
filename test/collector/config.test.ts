import { describe, expect, it } from 'vitest';
import { parseCollectorConfig, sanitizeMachineId } from '../../collector/config.ts';

const host = { hostname: 'web 01.example.com' };

describe('parseCollectorConfig', () => {
  it('has working defaults and is frozen', () => {
    const config = parseCollectorConfig([], {}, host);
    expect(config).toEqual({
      hubUrl: 'http://127.0.0.1:50051',
      machineId: 'web-01.example.com',
      displayName: 'web 01.example.com',
      hostname: 'web 01.example.com',
      intervalMs: 1000,
      labels: {},
      dataDir: './data',
      token: undefined,
      hubCaFile: undefined,
      bufferCapacity: 3600,
      bufferMaxBytes: 256 * 1024 * 1024,
      bufferFsyncIntervalMs: 1000,
      sampler: 'auto',
      hostPaths: { procDir: '/proc', sysDir: '/sys', rootDir: '/' },
      logLevel: 'info',
      logFormat: 'json',
      dockerSocket: undefined,
      topProcesses: 10,
      topProcessesIntervalMs: 5000,
      smartIntervalMs: 3_600_000,
      servicePatterns: [],
      serviceIntervalMs: 30_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.labels)).toBe(true);
  });

  it('reads the environment, and flags override it', () => {
    const env = {
      AGGREGATOR_URL: 'http://hub:50051/',
      MACHINE_ID: 'env-id',
      MACHINE_NAME: 'Env name',
      COLLECTION_INTERVAL: '5',
      LABELS: 'env=prod, rack=r1',
      DATA_DIR: '/var/lib/sysmonstm',
      COLLECTOR_TOKEN: 's3cret',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
    };
    const config = parseCollectorConfig(['--hub', 'https://hub.example:443', '--id=flag-id', '--interval', '0.2', '--label', 'rack=r2', '--label', 'role=db'], env, host);
    expect(config).toMatchObject({
      hubUrl: 'https://hub.example:443',
      machineId: 'flag-id',
      displayName: 'Env name',
      intervalMs: 200,
      labels: { env: 'prod', rack: 'r2', role: 'db' },
      dataDir: '/var/lib/sysmonstm',
      token: 's3cret',
      logLevel: 'debug',
      logFormat: 'pretty',
    });
  });

  it.each([
    [['--interval', '0.05'], {}, /--interval must be at least 0.1 seconds/],
    [[], { COLLECTION_INTERVAL: '3601' }, /COLLECTION_INTERVAL must be at most 3600/],
    [[], { COLLECTION_INTERVAL: 'often' }, /COLLECTION_INTERVAL/],
    [['--id', 'bad id!'], {}, /--id must be 1\.\.128 characters/],
    [[], { MACHINE_ID: 'x'.repeat(129) }, /MACHINE_ID must be/],
    [[], { AGGREGATOR_URL: 'hub:50051' }, /AGGREGATOR_URL must be an http/],
    [['--hub', 'ftp://x'], {}, /--hub must be an http/],
    [['--name', 'n'.repeat(257)], {}, /--name must be at most 256/],
    [[], { LABELS: 'novalue' }, /LABELS: label "novalue" must look like key=value/],
    [['--label', '=x'], {}, /--label: label "=x"/],
    [['--colour', 'red'], {}, /unknown option --colour/],
    [['--hub'], {}, /option --hub needs a value/],
    [['stray'], {}, /unexpected argument "stray"/],
    [[], { LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [[], { COLLECTOR_TOKEN: 'has space' }, /COLLECTOR_TOKEN must be printable ASCII/],
    [[], { BUFFER_MAX_BYTES: '1000' }, /BUFFER_MAX_BYTES must be 0 \(no spool\) or between 65536/],
    [['--buffer-max-bytes', 'lots'], {}, /--buffer-max-bytes must be a number of bytes/],
    [[], { BUFFER_FSYNC_INTERVAL: '-1' }, /BUFFER_FSYNC_INTERVAL/],
    [[], { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, /DOCKER_HOST must be unix:\/\/\/path/],
    [[], { TOP_PROCESSES: '101' }, /TOP_PROCESSES must be between 0 and 100/],
    [['--top-processes', '2.5'], {}, /--top-processes must be a whole number/],
    [[], { TOP_PROCESSES_INTERVAL: '61' }, /TOP_PROCESSES_INTERVAL must be at most 60 seconds/],
    [[], { SMART_INTERVAL: '10' }, /SMART_INTERVAL must be 0 \(off\) or between 60 seconds and 7 days/],
    [[], { SERVICE_PATTERNS: 'nginx*,rm -rf' }, /SERVICE_PATTERNS "rm -rf" is not a unit name pattern/],
    [['--service-interval', '1'], {}, /--service-interval must be at least 5 seconds/],
    [[], { LABELS: Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',') }, /at most 32 labels/],
  ])('rejects %j %j', (argv, env, message) => {
    expect(() => parseCollectorConfig(argv, env, host)).toThrow(message);
  });

  it('reads the spool, fsync and hub CA settings', () => {
    const config = parseCollectorConfig(['--buffer-max-bytes', '0', '--hub-ca', '/etc/sysmonstm/ca.pem'], { BUFFER_FSYNC_INTERVAL: '0', BUFFER_CAPACITY: '10' }, host);
    expect(config).toMatchObject({ bufferMaxBytes: 0, bufferFsyncIntervalMs: 0, bufferCapacity: 10, hubCaFile: '/etc/sysmonstm/ca.pem' });
  });

  it('reads the settings of the extra sources', () => {
    const config = parseCollectorConfig(['--services', 'nginx*, postgres*'], { DOCKER_HOST: 'unix:///run/user/1000/podman/podman.sock', TOP_PROCESSES: '0', TOP_PROCESSES_INTERVAL: '2', SMART_INTERVAL: '0', SERVICE_INTERVAL: '60' }, host);
    expect(config).toMatchObject({ dockerSocket: '/run/user/1000/podman/podman.sock', topProcesses: 0, topProcessesIntervalMs: 2000, smartIntervalMs: 0, servicePatterns: ['nginx*', 'postgres*'], serviceIntervalMs: 60_000 });
    expect(Object.isFrozen(config.servicePatterns)).toBe(true);
  });

  it('does not read process.env', () => {
    process.env.MACHINE_ID = 'from-process-env';
    try {
      expect(parseCollectorConfig([], {}, host).machineId).toBe('web-01.example.com');
    } finally {
      delete process.env.MACHINE_ID;
    }
  });
});

describe('sanitizeMachineId', () => {
  it.each([
    ['plain-host', 'plain-host'],
    ['Host Name/β', 'Host-Name--'],
    ['', 'machine'],
    ['a'.repeat(200), 'a'.repeat(128)],
  ])('%j → %j', (input, expected) => expect(sanitizeMachineId(input)).toBe(expected));
});
