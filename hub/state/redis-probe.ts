// Is Redis alive? A PING on a connection of its own, so the answer does not queue behind the hub's
// own writes: a command that outlasted its timeout because this process was busy (or because the
// pipeline ahead of it was long) is a slow reply, not an outage. The probe gives up after
// `timeoutMs`, and only after the turn of the event loop in which the timer fired has read its
// sockets (a reply that arrived while the loop was busy still counts).
import type { Redis } from 'ioredis';

export type RedisProbe = () => Promise<boolean>;

export function createRedisProbe(conn: Pick<Redis, 'status' | 'ping'>, timeoutMs = 5000): RedisProbe {
  return () =>
    new Promise<boolean>((resolve) => {
      if (conn.status !== 'ready') {
        resolve(false);
        return;
      }
      let settled = false;
      const finish = (alive: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(alive);
      };
      // Timers run before the poll phase of a turn, immediates after it: a reply already in the socket is read first.
      const timer = setTimeout(() => setImmediate(() => finish(false)), timeoutMs);
      conn.ping().then(
        (reply) => finish(reply === 'PONG'),
        () => finish(false),
      );
    });
}
