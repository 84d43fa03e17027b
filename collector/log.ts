// The collector's logger: JSON lines on stdout in pino's format (level number, time, pid, hostname,
// name, the fields, msg), written by a few lines of code instead of pino, which would add some 4 MB to
// a process that runs on every machine. LOG_FORMAT=pretty (the default on a terminal) loads pino with
// pino-pretty on demand.
// A pino Logger satisfies the `Logger` interface, so the hub and tests can pass theirs.
import { hostname } from 'node:os';

interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
}

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;

/** Errors as pino's standard serializer writes them; bigints as numbers. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return Number(value);
  return value;
}

export function createJsonLogger(options: { level: string; name: string; write?: (line: string) => void; now?: () => number }): Logger {
  const threshold = options.level === 'silent' ? Infinity : (LEVELS[options.level as LevelName] ?? LEVELS.info);
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? Date.now;
  const prefix = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":${JSON.stringify(options.name)}`;
  const noop: LogFn = () => {};
  const method = (level: number): LogFn =>
    level < threshold
      ? noop
      : (first: object | string, msg?: string) => {
          let fields = '';
          if (typeof first === 'string') msg = first;
          else if (first !== null && typeof first === 'object') {
            if (first instanceof Error) msg ??= first.message;
            const entries = first instanceof Error ? { err: first } : first;
            let json: string;
            try {
              json = JSON.stringify(entries, replacer);
            } catch (err) {
              json = JSON.stringify({ logError: `fields not serializable: ${(err as Error).message}` });
            }
            if (json.length > 2) fields = ',' + json.slice(1, -1);
          }
          write(`{"level":${level},"time":${now()}${prefix}${fields}${msg === undefined ? '' : `,"msg":${JSON.stringify(msg)}`}}\n`);
        };
  return {
    trace: method(LEVELS.trace),
    debug: method(LEVELS.debug),
    info: method(LEVELS.info),
    warn: method(LEVELS.warn),
    error: method(LEVELS.error),
    fatal: method(LEVELS.fatal),
  };
}

export async function createCollectorLogger(options: { level: string; format: 'json' | 'pretty' }): Promise<Logger> {
  if (options.format === 'pretty') {
    const { pino } = await import('pino');
    const pretty: Logger = pino({ name: 'collector', level: options.level, transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
    return pretty;
  }
  return createJsonLogger({ name: 'collector', level: options.level });
}
