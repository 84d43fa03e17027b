// `sysmonstm hub --help` and `sysmonstm all --help`: every flag the hub accepts (one per variable of
// hub/config.ts), with its variable, value and a one-line meaning. Pure text; docs/configuration.md
// has the full table. A variable without a line here is still listed (under "more").
import { HUB_ENV_VARIABLES } from './config.ts';

/** variable → [value placeholder, one-line meaning]. */
const HUB_OPTION_HELP: Readonly<Record<string, readonly [string, string]>> = {
  HTTP_PORT: ['N', 'dashboard, REST API, /ws and /metrics (default 8000; 0: any free port)'],
  HTTP_HOST: ['ADDR', 'address the HTTP port binds to (default 127.0.0.1; 0.0.0.0 exposes it)'],
  GRPC_PORT: ['N', 'gRPC port collectors stream to (default 50051)'],
  GRPC_HOST: ['ADDR', 'address the gRPC port binds to (default: 0.0.0.0 for hub, 127.0.0.1 for all)'],
  DATA_DIR: ['DIR', 'embedded database, history spool, backups (default ./data)'],
  REDIS_URL: ['URL', 'redis:// state and events shared by several hubs (default: in memory)'],
  TIMESCALE_URL: ['URL', 'postgres:// history in TimescaleDB or PostgreSQL (default: embedded, in DATA_DIR)'],
  EDGE_URL: ['URL', 'wss://<worker>/ingest: forward the live fleet to the public edge'],
  EDGE_API_KEY: ['TOKEN', "the Worker's HUB_TOKEN (needed with EDGE_URL)"],
  EDGE_PUSH_INTERVAL: ['SECONDS', 'between pushes to the edge (default 1)'],
  EDGE_MAX_FRAME_BYTES: ['BYTES', 'largest frame sent to the edge; more goes in parts (default 1 MiB)'],
  PUBLIC_VIEWS_FILE: ['FILE', 'YAML file of public views (which machines and fields go public)'],
  LIVE_PUSH_INTERVAL: ['SECONDS', "between deltas to the dashboard's viewers (default 0.25)"],
  HISTORY_FLUSH_INTERVAL: ['SECONDS', 'between history batch writes (default 0.25)'],
  ACK_DELAY: ['SECONDS', 'longest an ack to a collector is held back to share it with later reports (default 0)'],
  RETENTION_RAW_DAYS: ['DAYS', 'raw rows kept (default 1 on the embedded database, 7 with TIMESCALE_URL)'],
  RETENTION_1M_DAYS: ['DAYS', '1-minute averages kept (default 90)'],
  RETENTION_1H_DAYS: ['DAYS', '1-hour averages kept (default 730)'],
  MAX_MACHINES: ['N', 'machines accepted (default 10000)'],
  HUB_PROCESSES: ['N|auto', 'hub processes sharing the ports, with Redis and TIMESCALE_URL (default 1)'],
  FORGET_OFFLINE_AFTER: ['DURATION', 'machines offline this long leave current state (default 7d; 0: never)'],
  MAX_VIEWERS: ['N', "concurrent viewers of the hub's /ws (default 1000)"],
  MAX_VIEWERS_PER_ADDRESS: ['N', "viewers of the hub's /ws per client address (default 20)"],
  ALLOWED_HOSTS: ['NAMES', 'more Host names the HTTP port answers to, comma-separated (* = any)'],
  GRPC_HANDSHAKE_TIMEOUT: ['SECONDS', 'a gRPC connection must finish its handshake within (default 10)'],
  GRPC_IDLE_TIMEOUT: ['SECONDS', 'a gRPC connection without a stream is closed after (default 300)'],
  GRPC_MAX_CONNECTIONS: ['N', 'gRPC connections open at once (default 12000)'],
  GRPC_MAX_CONNECTIONS_PER_PEER: ['N', 'gRPC connections per peer address (default 1000)'],
  COLLECTOR_TOKEN: ['TOKEN', 'shared token every collector must send (default: none checked)'],
  COLLECTOR_TOKENS_FILE: ['FILE', 'lines of "machine_id token": a token per machine'],
  DASHBOARD_TOKEN: ['TOKEN', 'protects the dashboard, REST reads, /ws and /metrics'],
  GRPC_TLS_CERT: ['FILE', 'PEM certificate: TLS on the gRPC port (with --grpc-tls-key)'],
  GRPC_TLS_KEY: ['FILE', 'PEM private key for --grpc-tls-cert'],
  HISTORY_SPOOL_MAX_BYTES: ['BYTES', 'disk spool for history while the database is down (0: none)'],
  BACKUP_INTERVAL: ['DURATION', 'scheduled backups, like 6h or 1d (default 0: off)'],
  BACKUP_DIR: ['DIR', 'where backups go (default DATA_DIR/backups)'],
  BACKUP_KEEP: ['N', 'newest backups kept (default 7)'],
  ADMIN_TOKEN: ['TOKEN', 'alerting writes need it (default: writes from loopback only)'],
  ALERT_TICK_INTERVAL: ['SECONDS', 'between evaluations of offline rules (default 5)'],
  ALERT_CLAIM_IDLE: ['SECONDS', "with Redis: take over a stopped hub's events after (default 30)"],
  NOTIFY_TIMEOUT: ['SECONDS', 'one notification attempt (default 10)'],
  NOTIFY_RETRIES: ['N', 'retries of a failed notification (default 5)'],
  NOTIFY_BACKOFF: ['SECONDS', 'before the first retry, doubling (default 2)'],
  NOTIFY_ALLOW_PRIVATE: ['0|1', 'notification URLs may point at private addresses (default 0)'],
  LOG_LEVEL: ['LEVEL', 'fatal, error, warn, info, debug, trace or silent (default info)'],
  LOG_FORMAT: ['FORMAT', 'pretty or json (default: pretty on a terminal, json otherwise)'],
};

export interface OptionLine {
  /** `--http-port N` */
  readonly flag: string;
  readonly variable: string;
  readonly meaning: string;
}

/** `HTTP_PORT` → `--http-port`. */
export const flagOf = (variable: string): string => '--' + variable.toLowerCase().replaceAll('_', '-');

export function hubOptions(): OptionLine[] {
  return HUB_ENV_VARIABLES.map((variable) => {
    const [value, meaning] = HUB_OPTION_HELP[variable] ?? ['VALUE', 'see docs/configuration.md'];
    return { flag: `${flagOf(variable)} ${value}`, variable, meaning };
  });
}

/** Options as aligned lines: `  --flag VALUE   VARIABLE   meaning`. */
export function formatOptions(options: readonly OptionLine[]): string {
  const flagWidth = Math.max(...options.map((o) => o.flag.length));
  const variableWidth = Math.max(...options.map((o) => o.variable.length));
  return options.map((o) => `  ${o.flag.padEnd(flagWidth)}  ${o.variable.padEnd(variableWidth)}  ${o.meaning}`.trimEnd()).join('\n');
}

export function hubHelp(command: 'hub' | 'all'): string {
  const what =
    command === 'all'
      ? 'The hub, a collector for this machine and the dashboard, in one process (the default command).\nThe gRPC port binds to 127.0.0.1; the local collector reads the same environment.'
      : 'The hub alone: collectors on other machines stream to its gRPC port, on all interfaces by default.\nSet COLLECTOR_TOKEN (or COLLECTOR_TOKENS_FILE) on a network you do not trust.';
  return [
    `Usage: sysmonstm ${command === 'all' ? '[all]' : 'hub'} [OPTIONS]`,
    '',
    what,
    '',
    'Options (each also an environment variable; a flag wins over its variable):',
    formatOptions([...hubOptions(), { flag: '-h, --help', variable: '', meaning: 'this help' }]),
    '',
    'Every setting: docs/configuration.md.',
  ].join('\n');
}
