// Hub configuration: env vars (and `--flag value` overrides) parsed once at start into a frozen typed
// object. Nothing else in the hub reads process.env. An error names the variable and what is wrong.
import { z } from 'zod';

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

const schema = z.object({
  HTTP_PORT: port.default(8000),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  GRPC_PORT: port.default(50051),
  GRPC_HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  TIMESCALE_URL: optionalUrl(['postgres://', 'postgresql://']),
  EDGE_URL: optionalUrl(['ws://', 'wss://']),
  EDGE_API_KEY: z.string().optional(),
  EDGE_PUSH_INTERVAL: seconds(0.05, 3600).default(1),
  LIVE_PUSH_INTERVAL: seconds(0.05, 60).default(0.25),
  HISTORY_FLUSH_INTERVAL: seconds(0.01, 60).default(0.25),
  RETENTION_RAW_DAYS: seconds(1, 3650).default(7),
  RETENTION_1M_DAYS: seconds(1, 36500).default(90),
  RETENTION_1H_DAYS: seconds(1, 36500).default(730),
  MAX_MACHINES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

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
  readonly livePushIntervalMs: number;
  readonly historyFlushIntervalMs: number;
  readonly retention: { readonly rawDays: number; readonly oneMinuteDays: number; readonly oneHourDays: number };
  readonly maxMachines: number;
  readonly logLevel: string;
  readonly logFormat: 'json' | 'pretty';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
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

export function parseHubConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): HubConfig {
  const merged: Record<string, string | undefined> = { ...env, ...flagsToEnv(argv, Object.keys(schema.shape)) };
  const result = schema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid hub configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  if (c.EDGE_URL && !c.EDGE_API_KEY) throw new ConfigError('invalid hub configuration: EDGE_API_KEY must be set when EDGE_URL is set');
  return Object.freeze({
    httpPort: c.HTTP_PORT,
    httpHost: c.HTTP_HOST,
    grpcPort: c.GRPC_PORT,
    grpcHost: c.GRPC_HOST,
    dataDir: c.DATA_DIR,
    redisUrl: c.REDIS_URL,
    timescaleUrl: c.TIMESCALE_URL,
    edgeUrl: c.EDGE_URL,
    edgeApiKey: c.EDGE_API_KEY,
    edgePushIntervalMs: Math.round(c.EDGE_PUSH_INTERVAL * 1000),
    livePushIntervalMs: Math.round(c.LIVE_PUSH_INTERVAL * 1000),
    historyFlushIntervalMs: Math.round(c.HISTORY_FLUSH_INTERVAL * 1000),
    retention: Object.freeze({ rawDays: c.RETENTION_RAW_DAYS, oneMinuteDays: c.RETENTION_1M_DAYS, oneHourDays: c.RETENTION_1H_DAYS }),
    maxMachines: c.MAX_MACHINES,
    logLevel: c.LOG_LEVEL,
    logFormat: c.LOG_FORMAT,
  });
}
