// Hub configuration: env vars (and `--flag value` overrides) parsed once at start into a frozen typed
// object. Nothing else in the hub reads process.env. An error names the variable and what is wrong.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { PublicViewDefinition } from '../proto/public-view.ts';
import { parseDurationSeconds } from './duration.ts';
import { loadViewsFile } from './views/views-file.ts';

const port = z.coerce.number().int().min(0).max(65535);
const seconds = (min: number, max: number) => z.coerce.number().finite().min(min).max(max);
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(p)), {
      message: `must start with ${protocols.join(' or ')}`,
    });
/** A duration ("6h", "1d", "3600"): seconds, 0 meaning off. */
const duration = (max: number) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      if (v === '') return 0;
      const seconds = parseDurationSeconds(v);
      if (seconds === undefined || seconds > max || (seconds > 0 && seconds < 1)) {
        ctx.addIssue({ code: 'custom', message: `must be 0 (off) or a duration like 3600, 30m, 6h or 1d (1 s to ${max} s), got "${v}"` });
        return z.NEVER;
      }
      return seconds;
    });

/** A secret: unset or empty = off; else 16..512 printable ASCII characters without spaces. */
const secret = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .refine((v) => v === undefined || /^[\x21-\x7e]{16,512}$/.test(v), 'must be 16 to 512 printable ASCII characters without spaces');
const optionalPath = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/**
 * Raw history retention without RETENTION_RAW_DAYS. The embedded database (upstream PGlite, plain
 * PostgreSQL) stores a raw row uncompressed (~30 MiB per machine per day at 1 Hz, bench/RESULTS.md),
 * so it keeps one day of them; the 1 min and 1 h tiers keep their 90 and 730 days (docs/operations.md).
 */
export const EMBEDDED_RAW_RETENTION_DAYS = 1;
/** With TIMESCALE_URL (TimescaleDB compresses raw chunks after a day; a server has the disk for it). */
export const SERVER_RAW_RETENTION_DAYS = 7;

/** Most hub processes HUB_PROCESSES may ask for (`auto` is capped here too). */
export const MAX_HUB_PROCESSES = 64;

const hubProcesses = z
  .string()
  .trim()
  .default('1')
  .transform((v, ctx) => {
    if (v.toLowerCase() === 'auto') return Math.min(MAX_HUB_PROCESSES, Math.max(1, availableParallelism()));
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= 1 && n <= MAX_HUB_PROCESSES)) {
      ctx.addIssue({ code: 'custom', message: `must be auto (one per CPU, at most ${MAX_HUB_PROCESSES}) or a whole number from 1 to ${MAX_HUB_PROCESSES}, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const schema = z.object({
  HTTP_PORT: port.default(8000),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  GRPC_PORT: port.default(50051),
  // Default by command: all interfaces for `sysmonstm hub`, 127.0.0.1 for `sysmonstm all` (HubContext).
  GRPC_HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  TIMESCALE_URL: optionalUrl(['postgres://', 'postgresql://']),
  EDGE_URL: optionalUrl(['ws://', 'wss://']),
  EDGE_API_KEY: z.string().optional(),
  EDGE_PUSH_INTERVAL: seconds(0.05, 3600).default(1),
  EDGE_MAX_FRAME_BYTES: z.coerce.number().int().min(16 * 1024).max(32 * 1024 * 1024).default(1024 * 1024),
  PUBLIC_VIEWS_FILE: optionalPath,
  LIVE_PUSH_INTERVAL: seconds(0.05, 60).default(0.25),
  HISTORY_FLUSH_INTERVAL: seconds(0.01, 60).default(0.25),
  ACK_DELAY: seconds(0, 10).default(0),
  // Default: EMBEDDED_RAW_RETENTION_DAYS on the embedded database, SERVER_RAW_RETENTION_DAYS with TIMESCALE_URL.
  RETENTION_RAW_DAYS: seconds(1, 3650).optional(),
  RETENTION_1M_DAYS: seconds(1, 36500).default(90),
  RETENTION_1H_DAYS: seconds(1, 36500).default(730),
  MAX_MACHINES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  HUB_PROCESSES: hubProcesses,
  FORGET_OFFLINE_AFTER: duration(3650 * 86_400).default(7 * 86_400),
  MAX_VIEWERS: z.coerce.number().int().min(1).max(100_000).default(1000),
  MAX_VIEWERS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const names = (v ?? '')
        .split(',')
        .map((n) => n.trim().toLowerCase())
        .filter((n) => n.length > 0);
      for (const n of names) {
        if (n !== '*' && !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]{1,253})$/.test(n)) {
          ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of host names (no port, no scheme) or *, got "${n}"` });
          return z.NEVER;
        }
      }
      return names;
    }),
  GRPC_HANDSHAKE_TIMEOUT: seconds(0.05, 300).default(10),
  GRPC_IDLE_TIMEOUT: seconds(0.05, 86_400).default(300),
  GRPC_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(12_000),
  GRPC_MAX_CONNECTIONS_PER_PEER: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  COLLECTOR_TOKEN: secret,
  COLLECTOR_TOKENS_FILE: optionalPath,
  DASHBOARD_TOKEN: secret,
  GRPC_TLS_CERT: optionalPath,
  GRPC_TLS_KEY: optionalPath,
  HISTORY_SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 1024 * 1024 && v <= 1024 ** 4), 'must be 0 (no spool) or between 1 MiB and 1 TiB in bytes')
    .default(1024 * 1024 * 1024),
  BACKUP_INTERVAL: duration(365 * 86_400).default(0),
  BACKUP_DIR: z.string().trim().optional().transform((v) => (v === '' ? undefined : v)),
  BACKUP_KEEP: z.coerce.number().int().min(1).max(10_000).default(7),
  ADMIN_TOKEN: secret,
  ALERT_TICK_INTERVAL: seconds(0.1, 300).default(5),
  ALERT_CLAIM_IDLE: seconds(0.1, 3600).default(30),
  NOTIFY_TIMEOUT: seconds(0.05, 300).default(10),
  NOTIFY_RETRIES: z.coerce.number().int().min(0).max(20).default(5),
  NOTIFY_BACKOFF: seconds(0.01, 3600).default(2),
  NOTIFY_ALLOW_PRIVATE: z.enum(['0', '1', 'true', 'false']).default('0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Default: pretty on a terminal, JSON lines otherwise (HubContext.stdoutIsTty).
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
});

/** Every environment variable the hub reads (each also a `--flag`): for docs, .env.example and deploy checks. */
export const HUB_ENV_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

export interface HubConfig {
  readonly httpPort: number;
  readonly httpHost: string;
  readonly grpcPort: number;
  readonly grpcHost: string;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly timescaleUrl: string | undefined;
  readonly edgeUrl: string | undefined;
  readonly edgeApiKey: string | undefined;
  readonly edgePushIntervalMs: number;
  /** Largest frame sent to the relay: larger snapshots go in parts, larger deltas as several (EDGE_MAX_FRAME_BYTES). */
  readonly edgeMaxFrameBytes: number;
  /** PUBLIC_VIEWS_FILE, read and validated at start. */
  readonly publicViewsFile: string | undefined;
  /** The views defined in PUBLIC_VIEWS_FILE (read-only through the API; more can be added there). */
  readonly publicViews: readonly PublicViewDefinition[];
  readonly livePushIntervalMs: number;
  readonly historyFlushIntervalMs: number;
  /** ACK_DELAY: acks of all streams go out together at most this long after the first became due (0: next turn). */
  readonly ackDelayMs: number;
  readonly retention: { readonly rawDays: number; readonly oneMinuteDays: number; readonly oneHourDays: number };
  readonly maxMachines: number;
  /** HUB_PROCESSES: hub processes on this machine sharing the ports (1 = this process alone; hub-processes.ts). */
  readonly hubProcesses: number;
  /** FORGET_OFFLINE_AFTER: machines not seen for this long leave current state (0 = never). */
  readonly forgetOfflineAfterMs: number;
  /** Concurrent viewers on the hub's /ws, in total and per client address (IPv6 per /64). */
  readonly maxViewers: number;
  readonly maxViewersPerAddress: number;
  /** Extra Host names the HTTP port answers to (ALLOWED_HOSTS), besides localhost, 127.0.0.1, [::1] and HTTP_HOST; ["*"] = any. */
  readonly allowedHosts: readonly string[];
  /** gRPC port: handshake and idle-session timeouts, connection caps in total and per peer address (hub/connection-limits.ts). */
  readonly grpcConnections: { readonly handshakeTimeoutMs: number; readonly idleTimeoutMs: number; readonly maxConnections: number; readonly maxConnectionsPerPeer: number };
  /** Shared token every collector must send (COLLECTOR_TOKEN); undefined = collectors are not checked. */
  readonly collectorToken: string | undefined;
  /** File of `machine_id token` lines: one token per machine (COLLECTOR_TOKENS_FILE). */
  readonly collectorTokensFile: string | undefined;
  /** Protects the dashboard, REST read API, /ws and FleetService (DASHBOARD_TOKEN). */
  readonly dashboardToken: string | undefined;
  /** PEM certificate and key paths: the gRPC port then speaks TLS. */
  readonly grpcTls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Bound of the history spool used while the database is down (0 = no spool). */
  readonly historySpoolMaxBytes: number;
  /** Scheduled database backups; intervalMs 0 = off. dir defaults to DATA_DIR/backups. */
  readonly backup: { readonly intervalMs: number; readonly dir: string; readonly keep: number };
  /** Bearer token for alerting writes (ADMIN_TOKEN); undefined = writes only from loopback peers. */
  readonly adminToken: string | undefined;
  /** Offline-evaluation tick, claim time of a silent hub's events, notification timeout/retries/backoff. */
  readonly alerts: {
    readonly tickIntervalMs: number;
    readonly claimIdleMs: number;
    readonly notifyTimeoutMs: number;
    readonly notifyRetries: number;
    readonly notifyBackoffMs: number;
    /** NOTIFY_ALLOW_PRIVATE: notification URLs may point at loopback, link-local and private addresses. */
    readonly notifyAllowPrivate: boolean;
  };
  readonly logLevel: string;
  readonly logFormat: 'json' | 'pretty';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** What the defaults depend on besides the environment: the command and where the logs go. */
export interface HubContext {
  /** `all` (the hub with a local collector, one machine): gRPC binds to 127.0.0.1 by default. */
  readonly command?: 'hub' | 'all';
  /** Logs are human-readable by default on a terminal, JSON lines otherwise. */
  readonly stdoutIsTty?: boolean;
}

/** `--http-port 8001` → HTTP_PORT=8001. Unknown flags are an error, not silently ignored. */
export function flagsToEnv(argv: readonly string[], known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const name = flag.toUpperCase().replaceAll('-', '_');
    if (!known.includes(name)) throw new ConfigError(`unknown option --${flag} (known: ${known.map((k) => '--' + k.toLowerCase().replaceAll('_', '-')).join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`option --${flag} needs a value`);
    out[name] = value;
  }
  return out;
}

export function parseHubConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, context: HubContext = {}): HubConfig {
  const merged: Record<string, string | undefined> = { ...env, ...flagsToEnv(argv, Object.keys(schema.shape)) };
  // An empty value means the default, as in the collector (`.env` files and compose often hold `NAME=`).
  for (const name of HUB_ENV_VARIABLES) if (merged[name]?.trim() === '') merged[name] = undefined;
  const result = schema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid hub configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  const rawDays = c.RETENTION_RAW_DAYS ?? (c.TIMESCALE_URL ? SERVER_RAW_RETENTION_DAYS : EMBEDDED_RAW_RETENTION_DAYS);
  if (c.EDGE_URL && !c.EDGE_API_KEY) throw new ConfigError('invalid hub configuration: EDGE_API_KEY must be set when EDGE_URL is set');
  if (Boolean(c.GRPC_TLS_CERT) !== Boolean(c.GRPC_TLS_KEY)) {
    throw new ConfigError('invalid hub configuration: GRPC_TLS_CERT and GRPC_TLS_KEY must be set together');
  }
  if (!(rawDays <= c.RETENTION_1M_DAYS && c.RETENTION_1M_DAYS <= c.RETENTION_1H_DAYS)) {
    throw new ConfigError(
      `invalid hub configuration: a coarser tier must be kept at least as long as a finer one: RETENTION_RAW_DAYS (${rawDays}) ≤ RETENTION_1M_DAYS (${c.RETENTION_1M_DAYS}) ≤ RETENTION_1H_DAYS (${c.RETENTION_1H_DAYS})`,
    );
  }
  if (c.HUB_PROCESSES > 1) {
    // The processes share current state, events and leases through Redis and history through one server.
    const needs = `HUB_PROCESSES is ${c.HUB_PROCESSES}`;
    if (!c.REDIS_URL) throw new ConfigError(`invalid hub configuration: ${needs}, which needs REDIS_URL (several processes share current state, events and alert state through Redis)`);
    if (!c.TIMESCALE_URL) throw new ConfigError(`invalid hub configuration: ${needs}, which needs TIMESCALE_URL (the embedded database in DATA_DIR can be opened by one process only)`);
  }
  let publicViews: PublicViewDefinition[] = [];
  if (c.PUBLIC_VIEWS_FILE) {
    try {
      publicViews = loadViewsFile(c.PUBLIC_VIEWS_FILE);
    } catch (err) {
      throw new ConfigError(`invalid hub configuration: PUBLIC_VIEWS_FILE (${c.PUBLIC_VIEWS_FILE}): ${(err as Error).message}`);
    }
  }
  return Object.freeze({
    httpPort: c.HTTP_PORT,
    httpHost: c.HTTP_HOST,
    grpcPort: c.GRPC_PORT,
    grpcHost: c.GRPC_HOST ?? (context.command === 'all' ? '127.0.0.1' : '0.0.0.0'),
    dataDir: c.DATA_DIR,
    redisUrl: c.REDIS_URL,
    timescaleUrl: c.TIMESCALE_URL,
    edgeUrl: c.EDGE_URL,
    edgeApiKey: c.EDGE_API_KEY,
    edgePushIntervalMs: Math.round(c.EDGE_PUSH_INTERVAL * 1000),
    edgeMaxFrameBytes: c.EDGE_MAX_FRAME_BYTES,
    publicViewsFile: c.PUBLIC_VIEWS_FILE,
    publicViews: Object.freeze(publicViews),
    livePushIntervalMs: Math.round(c.LIVE_PUSH_INTERVAL * 1000),
    historyFlushIntervalMs: Math.round(c.HISTORY_FLUSH_INTERVAL * 1000),
    ackDelayMs: Math.round(c.ACK_DELAY * 1000),
    retention: Object.freeze({ rawDays, oneMinuteDays: c.RETENTION_1M_DAYS, oneHourDays: c.RETENTION_1H_DAYS }),
    maxMachines: c.MAX_MACHINES,
    hubProcesses: c.HUB_PROCESSES,
    forgetOfflineAfterMs: Math.round(c.FORGET_OFFLINE_AFTER * 1000),
    maxViewers: c.MAX_VIEWERS,
    maxViewersPerAddress: c.MAX_VIEWERS_PER_ADDRESS,
    allowedHosts: Object.freeze(c.ALLOWED_HOSTS),
    grpcConnections: Object.freeze({
      handshakeTimeoutMs: Math.round(c.GRPC_HANDSHAKE_TIMEOUT * 1000),
      idleTimeoutMs: Math.round(c.GRPC_IDLE_TIMEOUT * 1000),
      maxConnections: c.GRPC_MAX_CONNECTIONS,
      maxConnectionsPerPeer: c.GRPC_MAX_CONNECTIONS_PER_PEER,
    }),
    collectorToken: c.COLLECTOR_TOKEN,
    collectorTokensFile: c.COLLECTOR_TOKENS_FILE,
    dashboardToken: c.DASHBOARD_TOKEN,
    grpcTls: c.GRPC_TLS_CERT && c.GRPC_TLS_KEY ? Object.freeze({ certFile: c.GRPC_TLS_CERT, keyFile: c.GRPC_TLS_KEY }) : undefined,
    historySpoolMaxBytes: c.HISTORY_SPOOL_MAX_BYTES,
    backup: Object.freeze({ intervalMs: Math.round(c.BACKUP_INTERVAL * 1000), dir: c.BACKUP_DIR ?? path.join(c.DATA_DIR, 'backups'), keep: c.BACKUP_KEEP }),
    adminToken: c.ADMIN_TOKEN,
    alerts: Object.freeze({
      tickIntervalMs: Math.round(c.ALERT_TICK_INTERVAL * 1000),
      claimIdleMs: Math.round(c.ALERT_CLAIM_IDLE * 1000),
      notifyTimeoutMs: Math.round(c.NOTIFY_TIMEOUT * 1000),
      notifyRetries: c.NOTIFY_RETRIES,
      notifyBackoffMs: Math.round(c.NOTIFY_BACKOFF * 1000),
      notifyAllowPrivate: c.NOTIFY_ALLOW_PRIVATE === '1' || c.NOTIFY_ALLOW_PRIVATE === 'true',
    }),
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT ?? (context.stdoutIsTty ? 'pretty' : 'json'),
  });
}
