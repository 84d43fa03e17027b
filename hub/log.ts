// The hub's logger: pino, JSON by default (LOG_FORMAT=pretty for humans), level from LOG_LEVEL.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level: string; format: 'json' | 'pretty'; name: string }): Logger {
  if (options.format === 'pretty') {
    return pino({ name: options.name, level: options.level, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino({ name: options.name, level: options.level });
}
