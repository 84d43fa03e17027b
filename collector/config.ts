// Collector configuration: environment variables plus `--flag value` overrides, parsed once at start
// into a frozen typed object. Pure: the caller passes argv, env and the hostname; nothing in the
// collector reads process.env. An error names the variable or flag and what is wrong with it.
import { hostname as osHostname } from 'node:os';
import { z } from 'zod';

export const MACHINE_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const NAME_MAX_LENGTH = 256;
const LABELS_MAX = 32;
const LABEL_MAX_LENGTH = 256;

export interface CollectorConfig {
  readonly hubUrl: string;
  readonly machineId: string;
  readonly displayName: string;
  readonly hostname: string;
  readonly intervalMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly dataDir: string;
  readonly token: string | undefined;
  /** PEM file with the CA (or the self-signed certificate) to trust for an https:// hub. */
  readonly hubCaFile: string | undefined;
  /** Reports kept in memory (the spool on disk holds more). */
  readonly bufferCapacity: number;
  /** Bound of the on-disk spool; 0 = no spool, memory only (bufferCapacity is then the limit). */
  readonly bufferMaxBytes: number;
  /** Longest time a spooled report waits for fsync (0 = every report). */
  readonly bufferFsyncIntervalMs: number;
  readonly sampler: 'auto' | 'proc' | 'systeminformation';
  /** Where the host's procfs, sysfs and root file system are visible (a container mounts them under /host). */
  readonly hostPaths: { readonly procDir: string; readonly sysDir: string; readonly rootDir: string };
  readonly logLevel: string;
  readonly logFormat: 'json' | 'pretty';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flag → the environment variable it overrides (for the CLI, docs and their tests). `--label` (LABELS) is repeatable and handled apart. */
export const COLLECTOR_FLAGS: Readonly<Record<string, string>> = {
  hub: 'AGGREGATOR_URL',
  id: 'MACHINE_ID',
  name: 'MACHINE_NAME',
  interval: 'COLLECTION_INTERVAL',
  'data-dir': 'DATA_DIR',
  token: 'COLLECTOR_TOKEN',
  'hub-ca': 'AGGREGATOR_CA_FILE',
  'buffer-capacity': 'BUFFER_CAPACITY',
  'buffer-max-bytes': 'BUFFER_MAX_BYTES',
  'buffer-fsync-interval': 'BUFFER_FSYNC_INTERVAL',
  sampler: 'SAMPLER',
  'host-proc': 'HOST_PROC',
  'host-sys': 'HOST_SYS',
  'host-root': 'HOST_ROOT',
  'log-level': 'LOG_LEVEL',
  'log-format': 'LOG_FORMAT',
};

/** A hostname made into a valid machine id: other characters become "-", at most 128 characters. */
export function sanitizeMachineId(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128);
  return cleaned || 'machine';
}

function parseLabel(text: string, source: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`${source}: label "${text}" must look like key=value`);
  const key = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (!key || key.length > LABEL_MAX_LENGTH) throw new ConfigError(`${source}: label key must be 1..${LABEL_MAX_LENGTH} characters`);
  if (value.length > LABEL_MAX_LENGTH) throw new ConfigError(`${source}: label ${key} is longer than ${LABEL_MAX_LENGTH} characters`);
  return [key, value];
}

const schema = z.object({
  AGGREGATOR_URL: z
    .string()
    .trim()
    .refine((v) => {
      try {
        const url = new URL(v);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    }, 'must be an http:// or https:// URL, like http://hub.local:50051'),
  MACHINE_ID: z.string().regex(MACHINE_ID_PATTERN, 'must be 1..128 characters of A-Z a-z 0-9 . _ -'),
  MACHINE_NAME: z.string().trim().min(1, 'must not be empty').max(NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`),
  COLLECTION_INTERVAL: z.coerce
    .number({ message: 'must be a number of seconds' })
    .finite()
    .min(0.1, 'must be at least 0.1 seconds')
    .max(3600, 'must be at most 3600 seconds'),
  DATA_DIR: z.string().min(1, 'must not be empty'),
  COLLECTOR_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || /^[\x21-\x7e]+$/.test(v), 'must be printable ASCII without spaces'),
  AGGREGATOR_CA_FILE: z.string().min(1).optional(),
  BUFFER_CAPACITY: z.coerce.number().int('must be a whole number').min(1).max(1_000_000),
  BUFFER_MAX_BYTES: z.coerce
    .number({ message: 'must be a number of bytes' })
    .int('must be a whole number of bytes')
    .refine((v) => v === 0 || (v >= 65_536 && v <= 1024 ** 4), 'must be 0 (no spool) or between 65536 and 1 TiB'),
  BUFFER_FSYNC_INTERVAL: z.coerce.number({ message: 'must be a number of seconds' }).finite().min(0).max(60),
  SAMPLER: z.enum(['auto', 'proc', 'systeminformation']),
  HOST_PROC: z.string().startsWith('/', 'must be an absolute path'),
  HOST_SYS: z.string().startsWith('/', 'must be an absolute path'),
  HOST_ROOT: z.string().startsWith('/', 'must be an absolute path'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  LOG_FORMAT: z.enum(['json', 'pretty']),
});

/** Every environment variable the collector reads: for docs, .env.example and deploy checks. */
export const COLLECTOR_ENV_VARIABLES: readonly string[] = Object.freeze([...Object.keys(schema.shape), 'LABELS']);

const trimSlash = (p: string) => p.replace(/\/+$/, '');

export function parseCollectorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  system: { hostname: string } = { hostname: osHostname() },
): CollectorConfig {
  const fromFlags: Record<string, string> = {};
  const flagLabels: Array<[string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (flag !== 'label' && !(flag in COLLECTOR_FLAGS)) {
      throw new ConfigError(`unknown option --${flag} (known: --label, ${Object.keys(COLLECTOR_FLAGS).map((f) => '--' + f).join(', ')})`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`option --${flag} needs a value`);
    if (flag === 'label') flagLabels.push(parseLabel(value, '--label'));
    else fromFlags[COLLECTOR_FLAGS[flag]] = value;
  }
  const sourceOf = (variable: string) => {
    const flag = Object.keys(COLLECTOR_FLAGS).find((f) => COLLECTOR_FLAGS[f] === variable);
    return flag && variable in fromFlags ? `--${flag}` : variable;
  };
  const pick = (variable: string): string | undefined => {
    const value = fromFlags[variable] ?? env[variable];
    return value === '' ? undefined : value;
  };

  const hostname = system.hostname.slice(0, NAME_MAX_LENGTH) || 'localhost';
  const result = schema.safeParse({
    AGGREGATOR_URL: pick('AGGREGATOR_URL') ?? 'http://127.0.0.1:50051',
    MACHINE_ID: pick('MACHINE_ID') ?? sanitizeMachineId(hostname),
    MACHINE_NAME: pick('MACHINE_NAME') ?? hostname,
    COLLECTION_INTERVAL: pick('COLLECTION_INTERVAL') ?? '1',
    DATA_DIR: pick('DATA_DIR') ?? './data',
    COLLECTOR_TOKEN: pick('COLLECTOR_TOKEN'),
    AGGREGATOR_CA_FILE: pick('AGGREGATOR_CA_FILE'),
    BUFFER_CAPACITY: pick('BUFFER_CAPACITY') ?? '3600',
    BUFFER_MAX_BYTES: pick('BUFFER_MAX_BYTES') ?? String(256 * 1024 * 1024),
    BUFFER_FSYNC_INTERVAL: pick('BUFFER_FSYNC_INTERVAL') ?? '1',
    SAMPLER: pick('SAMPLER') ?? 'auto',
    HOST_PROC: pick('HOST_PROC') ?? '/proc',
    HOST_SYS: pick('HOST_SYS') ?? '/sys',
    HOST_ROOT: pick('HOST_ROOT') ?? '/',
    LOG_LEVEL: pick('LOG_LEVEL') ?? 'info',
    LOG_FORMAT: pick('LOG_FORMAT') ?? 'json',
  });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${sourceOf(String(issue.path[0]))} ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = result.data;

  const labels: Record<string, string> = {};
  for (const item of (env.LABELS ?? '').split(',')) {
    if (item.trim()) {
      const [k, v] = parseLabel(item.trim(), 'LABELS');
      labels[k] = v;
    }
  }
  for (const [k, v] of flagLabels) labels[k] = v;
  if (Object.keys(labels).length > LABELS_MAX) throw new ConfigError(`LABELS/--label: at most ${LABELS_MAX} labels`);

  return Object.freeze({
    hubUrl: c.AGGREGATOR_URL.replace(/\/+$/, ''),
    machineId: c.MACHINE_ID,
    displayName: c.MACHINE_NAME,
    hostname,
    intervalMs: Math.round(c.COLLECTION_INTERVAL * 1000),
    labels: Object.freeze(labels),
    dataDir: c.DATA_DIR,
    token: c.COLLECTOR_TOKEN,
    hubCaFile: c.AGGREGATOR_CA_FILE,
    bufferCapacity: c.BUFFER_CAPACITY,
    bufferMaxBytes: c.BUFFER_MAX_BYTES,
    bufferFsyncIntervalMs: Math.round(c.BUFFER_FSYNC_INTERVAL * 1000),
    sampler: c.SAMPLER,
    hostPaths: Object.freeze({ procDir: trimSlash(c.HOST_PROC), sysDir: trimSlash(c.HOST_SYS), rootDir: trimSlash(c.HOST_ROOT) || '/' }),
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
  });
}
