// Collector configuration: environment variables plus `--flag value` overrides, parsed once at start
// into a frozen typed object. Pure: the caller passes argv, env and the hostname; nothing in the
// collector reads process.env. An error names the variable or flag and what is wrong with it.
import { hostname as osHostname } from 'node:os';
import { MACHINE_ID_PATTERN } from '../proto/machine-id.ts';
import { DEFAULT_INTERVAL_MS } from '../proto/status.ts';

export { MACHINE_ID_PATTERN };
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
  /** Docker/Podman Engine API socket (DOCKER_HOST=unix://…); undefined = look in the usual places. */
  readonly dockerSocket: string | undefined;
  /** Top N processes by CPU and by memory; 0 = off. */
  readonly topProcesses: number;
  readonly topProcessesIntervalMs: number;
  /** How often smartctl reads each disk; 0 = off. */
  readonly smartIntervalMs: number;
  /** Glob patterns of systemd units to report (nginx*, postgres*); empty = off. */
  readonly servicePatterns: readonly string[];
  readonly serviceIntervalMs: number;
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
  'docker-host': 'DOCKER_HOST',
  'top-processes': 'TOP_PROCESSES',
  'top-processes-interval': 'TOP_PROCESSES_INTERVAL',
  'smart-interval': 'SMART_INTERVAL',
  services: 'SERVICE_PATTERNS',
  'service-interval': 'SERVICE_INTERVAL',
};

/** The longest TOP_PROCESSES_INTERVAL: the hub shows the latest top processes for this long (see report.proto). */
export const TOP_PROCESSES_MAX_INTERVAL_S = 60;
/** A systemd unit pattern: unit-name characters and the glob characters * ? [ ]. */
const SERVICE_PATTERN = /^[A-Za-z0-9@._:*?[\]\\-]{1,128}$/;
const SERVICE_PATTERNS_MAX = 64;

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

// Plain checks rather than a schema library: the collector runs on every machine and zod alone would
// add some 10 MB to its memory. The messages are the ones the zod schema used here gave.
type Check<T> = (raw: string | undefined) => { value: T } | { problem: string };

const ok = <T>(value: T) => ({ value });
const fail = (problem: string) => ({ problem });

/** `Number(raw)` as a finite number, with `message` when it is not one. */
function toNumber(raw: string | undefined, message = 'Invalid input: expected number, received NaN'): { value: number } | { problem: string } {
  const n = Number(raw);
  return Number.isFinite(n) ? ok(n) : fail(message);
}

function numberBetween(min: number, max: number, options: { typeMessage?: string; intMessage?: string; minMessage?: string; maxMessage?: string } = {}): Check<number> {
  return (raw) => {
    const parsed = toNumber(raw, options.typeMessage);
    if ('problem' in parsed) return parsed;
    const n = parsed.value;
    if (options.intMessage && !Number.isInteger(n)) return fail(options.intMessage);
    if (n < min) return fail(options.minMessage ?? `Too small: expected number to be >=${min}`);
    if (n > max) return fail(options.maxMessage ?? `Too big: expected number to be <=${max}`);
    return ok(n);
  };
}

function oneOf<const T extends string>(...options: T[]): Check<T> {
  return (raw) => ((options as string[]).includes(raw as string) ? ok(raw as T) : fail(`Invalid option: expected one of ${options.map((o) => JSON.stringify(o)).join('|')}`));
}

const absolutePath: Check<string> = (raw) => (raw!.startsWith('/') ? ok(raw!) : fail('must be an absolute path'));

const checks = {
  AGGREGATOR_URL: (raw) => {
    const v = raw!.trim();
    try {
      const url = new URL(v);
      if (url.protocol === 'http:' || url.protocol === 'https:') return ok(v);
    } catch {
      /* not a URL */
    }
    return fail('must be an http:// or https:// URL, like http://hub.local:50051');
  },
  MACHINE_ID: (raw) => (MACHINE_ID_PATTERN.test(raw!) ? ok(raw!) : fail('must be 1..128 characters of A-Z a-z 0-9 . _ -')),
  MACHINE_NAME: (raw) => {
    const v = raw!.trim();
    if (v.length < 1) return fail('must not be empty');
    if (v.length > NAME_MAX_LENGTH) return fail(`must be at most ${NAME_MAX_LENGTH} characters`);
    return ok(v);
  },
  COLLECTION_INTERVAL: numberBetween(0.1, 3600, { typeMessage: 'must be a number of seconds', minMessage: 'must be at least 0.1 seconds', maxMessage: 'must be at most 3600 seconds' }),
  DATA_DIR: (raw) => (raw!.length >= 1 ? ok(raw!) : fail('must not be empty')),
  COLLECTOR_TOKEN: (raw) => {
    const v = raw === '' ? undefined : raw;
    return v === undefined || /^[\x21-\x7e]+$/.test(v) ? ok(v) : fail('must be printable ASCII without spaces');
  },
  AGGREGATOR_CA_FILE: (raw) => (raw === undefined || raw.length >= 1 ? ok(raw) : fail('Too small: expected string to have >=1 characters')),
  BUFFER_CAPACITY: numberBetween(1, 1_000_000, { intMessage: 'must be a whole number' }),
  BUFFER_MAX_BYTES: (raw) => {
    const parsed = toNumber(raw, 'must be a number of bytes');
    if ('problem' in parsed) return parsed;
    const v = parsed.value;
    if (!Number.isInteger(v)) return fail('must be a whole number of bytes');
    return v === 0 || (v >= 65_536 && v <= 1024 ** 4) ? ok(v) : fail('must be 0 (no spool) or between 65536 and 1 TiB');
  },
  // (zod used the type message for the range too)
  BUFFER_FSYNC_INTERVAL: numberBetween(0, 60, { typeMessage: 'must be a number of seconds', minMessage: 'must be a number of seconds', maxMessage: 'must be a number of seconds' }),
  SAMPLER: oneOf('auto', 'proc', 'systeminformation'),
  HOST_PROC: absolutePath,
  HOST_SYS: absolutePath,
  HOST_ROOT: absolutePath,
  LOG_LEVEL: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  LOG_FORMAT: oneOf('json', 'pretty'),
  DOCKER_HOST: (raw) => {
    if (raw === undefined) return ok(undefined);
    if (raw.startsWith('unix://') && raw.length > 'unix://'.length && raw.slice(7).startsWith('/')) return ok(raw.slice(7));
    return fail('must be unix:///path/to/docker.sock (the Engine API is read over a unix socket only)');
  },
  TOP_PROCESSES: numberBetween(0, 100, { intMessage: 'must be a whole number (0 = off)', minMessage: 'must be between 0 and 100', maxMessage: 'must be between 0 and 100' }),
  TOP_PROCESSES_INTERVAL: numberBetween(1, TOP_PROCESSES_MAX_INTERVAL_S, { typeMessage: 'must be a number of seconds', minMessage: 'must be at least 1 second', maxMessage: `must be at most ${TOP_PROCESSES_MAX_INTERVAL_S} seconds` }),
  SMART_INTERVAL: (raw) => {
    const parsed = toNumber(raw, 'must be a number of seconds');
    if ('problem' in parsed) return parsed;
    const v = parsed.value;
    return v === 0 || (v >= 60 && v <= 7 * 86_400) ? ok(v) : fail('must be 0 (off) or between 60 seconds and 7 days');
  },
  SERVICE_PATTERNS: (raw) => {
    const patterns = (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    if (patterns.length > SERVICE_PATTERNS_MAX) return fail(`at most ${SERVICE_PATTERNS_MAX} patterns`);
    const bad = patterns.find((p) => !SERVICE_PATTERN.test(p));
    return bad === undefined ? ok(patterns) : fail(`"${bad.slice(0, 40)}" is not a unit name pattern (letters, digits, @ . _ : - and * ? [ ])`);
  },
  SERVICE_INTERVAL: numberBetween(5, 3600, { typeMessage: 'must be a number of seconds', minMessage: 'must be at least 5 seconds', maxMessage: 'must be at most 3600 seconds' }),
} satisfies Record<string, Check<unknown>>;

type Checked = { [K in keyof typeof checks]: Extract<ReturnType<(typeof checks)[K]>, { value: unknown }>['value'] };

/** Every environment variable the collector reads: for docs, .env.example and deploy checks. */
export const COLLECTOR_ENV_VARIABLES: readonly string[] = Object.freeze([...Object.keys(checks), 'LABELS']);

const trimSlash = (p: string) => p.replace(/\/+$/, '');

export function parseCollectorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  /** stdoutIsTty: logs are human-readable by default on a terminal, JSON lines otherwise. */
  system: { hostname: string; stdoutIsTty?: boolean } = { hostname: osHostname() },
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
    // An empty variable means the default; an empty flag is a slip (`--id "$UNSET"`), not a wish for it.
    if (value.trim() === '') throw new ConfigError(`option --${flag} must not be empty`);
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
  const raw: Record<keyof typeof checks, string | undefined> = {
    AGGREGATOR_URL: pick('AGGREGATOR_URL') ?? 'http://127.0.0.1:50051',
    MACHINE_ID: pick('MACHINE_ID') ?? sanitizeMachineId(hostname),
    MACHINE_NAME: pick('MACHINE_NAME') ?? hostname,
    COLLECTION_INTERVAL: pick('COLLECTION_INTERVAL') ?? String(DEFAULT_INTERVAL_MS / 1000),
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
    LOG_FORMAT: pick('LOG_FORMAT') ?? (system.stdoutIsTty ? 'pretty' : 'json'),
    DOCKER_HOST: pick('DOCKER_HOST'),
    TOP_PROCESSES: pick('TOP_PROCESSES') ?? '10',
    TOP_PROCESSES_INTERVAL: pick('TOP_PROCESSES_INTERVAL') ?? '5',
    SMART_INTERVAL: pick('SMART_INTERVAL') ?? '3600',
    SERVICE_PATTERNS: pick('SERVICE_PATTERNS'),
    SERVICE_INTERVAL: pick('SERVICE_INTERVAL') ?? '30',
  };
  const problems: string[] = [];
  const checked: Record<string, unknown> = {};
  for (const variable of Object.keys(checks) as Array<keyof typeof checks>) {
    const result = (checks[variable] as Check<unknown>)(raw[variable]);
    if ('problem' in result) problems.push(`${sourceOf(variable)} ${result.problem}`);
    else checked[variable] = result.value;
  }
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  const c = checked as Checked;

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
    dockerSocket: c.DOCKER_HOST,
    topProcesses: c.TOP_PROCESSES,
    topProcessesIntervalMs: Math.round(c.TOP_PROCESSES_INTERVAL * 1000),
    smartIntervalMs: Math.round(c.SMART_INTERVAL * 1000),
    servicePatterns: Object.freeze(c.SERVICE_PATTERNS),
    serviceIntervalMs: Math.round(c.SERVICE_INTERVAL * 1000),
  });
}
