// The collector's logger: pino, JSON lines by default, pino-pretty when LOG_FORMAT=pretty.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createCollectorLogger(options: { level: string; format: 'json' | 'pretty' }): Logger {
  if (options.format === 'pretty') {
    return pino({ name: 'collector', level: options.level, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino({ name: 'collector', level: options.level });
}
