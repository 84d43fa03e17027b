// A lease in Redis for work that one process of the fleet does at a time (the edge forwarder when
// several hub processes share Redis): SET NX PX with this holder's id, renewed well before it expires
// (a compare-and-extend script), released on close (compare-and-delete) so another process takes it
// over at its next attempt instead of after the expiry. A holder that cannot renew within the lease's
// time counts it as lost, at the latest when the key would expire in Redis (counted from when the last
// successful renewal was sent, so never after another process can have taken it), even while a renewal
// is still awaiting its reply. Callbacks run on acquire and on loss; nothing else is shared.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from './log.ts';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface RedisLease {
  readonly held: boolean;
  start(): void;
  /** Stops trying and releases the lease if held (onLost is not called). */
  close(): Promise<void>;
}

export interface RedisLeaseOptions {
  key: string;
  /** How long the lease lasts without a renewal (default 10 s); renewed and retried every third of it. */
  ttlMs?: number;
  log: Logger;
  onAcquired(): void;
  onLost(): void;
}

export function createRedisLease(redis: Pick<Redis, 'set' | 'eval'>, options: RedisLeaseOptions): RedisLease {
  const ttlMs = options.ttlMs ?? 10_000;
  const holder = `${process.pid}-${randomBytes(6).toString('hex')}`;
  let held = false;
  let lastRenewMs = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let attempt: Promise<void> | undefined;
  /** Fires when the key would expire in Redis without a renewal since the last one sent. */
  let expiry: NodeJS.Timeout | undefined;

  /** The key was set or extended by a command sent at `sentAtMs`: it lasts until sentAtMs + ttl at least. */
  function renewed(sentAtMs: number): void {
    lastRenewMs = sentAtMs;
    clearTimeout(expiry);
    expiry = setTimeout(() => {
      if (held) lose('not renewed in time');
    }, Math.max(0, sentAtMs + ttlMs - Date.now()));
    expiry.unref();
  }

  async function step(): Promise<void> {
    try {
      const sentAtMs = Date.now();
      if (held) {
        const extended = (await redis.eval(RENEW, 1, options.key, holder, String(ttlMs))) === 1;
        if (!held) {
          // Counted as lost while the renewal was under way: a late success is given back.
          if (extended) await redis.eval(RELEASE, 1, options.key, holder);
        } else if (extended) renewed(sentAtMs);
        else lose('taken by another process');
      } else if ((await redis.set(options.key, holder, 'PX', ttlMs, 'NX')) === 'OK') {
        if (stopped) {
          await redis.eval(RELEASE, 1, options.key, holder);
          return;
        }
        held = true;
        renewed(sentAtMs);
        options.log.info({ lease: options.key }, 'lease acquired');
        options.onAcquired();
      }
    } catch (err) {
      if (held && Date.now() - lastRenewMs >= ttlMs) lose(`not renewed: ${(err as Error).message}`);
    }
  }

  function lose(why: string): void {
    held = false;
    clearTimeout(expiry);
    options.log.warn({ lease: options.key, why }, 'lease lost');
    options.onLost();
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      attempt = step().finally(() => {
        attempt = undefined;
        schedule(Math.max(100, Math.floor(ttlMs / 3)));
      });
    }, delayMs);
    timer.unref();
  }

  return {
    get held() {
      return held;
    },
    start() {
      schedule(0);
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(expiry);
      await attempt;
      if (!held) return;
      held = false;
      await redis.eval(RELEASE, 1, options.key, holder).catch(() => {});
    },
  };
}
