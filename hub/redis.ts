// The hub's gateway to Redis: owns the command connection and hands out dedicated connections for
// blocking reads (a connection blocked in XREAD can run nothing else). Every connection logs its
// errors instead of crashing the process, and reconnects by itself.
import { Redis } from 'ioredis';
import { backoffCeilingMs } from '../proto/backoff.ts';
import type { Logger } from './log.ts';

export interface RedisGateway {
  readonly command: Redis;
  /** A new connection for blocking commands; closed with the gateway. */
  dedicated(name: string): Redis;
  close(): Promise<void>;
}

export function createRedisGateway(url: string, log: Logger): RedisGateway {
  const connections: Redis[] = [];
  const open = (name: string) => {
    const conn = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      connectionName: `sysmonstm-${name}`,
      // A hung server must not hold the hub's state writes forever (fallback-state.ts takes over);
      // blocking reads live on dedicated connections without this limit.
      ...(name === 'command' ? { commandTimeout: 3000 } : {}),
      // Commands issued in the same tick (many collectors' state writes and events) go out in one write.
      enableAutoPipelining: name === 'command',
      retryStrategy: (times) => backoffCeilingMs(times, 200, 5000),
    });
    let lastError = '';
    conn.on('error', (err: Error) => {
      if (err.message !== lastError) log.warn({ err: err.message, connection: name }, 'redis connection error');
      lastError = err.message;
    });
    conn.on('ready', () => {
      if (lastError) log.info({ connection: name }, 'redis connection restored');
      lastError = '';
    });
    connections.push(conn);
    return conn;
  };
  const command = open('command');
  let closed = false;
  return {
    command,
    dedicated: open,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
