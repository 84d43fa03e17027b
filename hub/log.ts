// The hub's logger: pino, level from LOG_LEVEL; the format from LOG_FORMAT, by default human-readable
// on a terminal and JSON lines otherwise (hub/config.ts decides). PRETTY_OPTIONS, the same in the
// collector's log.ts: one line per entry, local time, no pid or hostname (a terminal knows both).
import { pino, type Logger } from 'pino';

export type { Logger };

export const PRETTY_OPTIONS = { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } as const;

export function createLogger(options: { level: string; format: 'json' | 'pretty'; name: string }): Logger {
  if (options.format === 'pretty') {
    return pino({ name: options.name, level: options.level, transport: { target: 'pino-pretty', options: PRETTY_OPTIONS } });
  }
  return pino({ name: options.name, level: options.level });
}
