// The sign-outs of every process of one hub (HUB_PROCESSES > 1), for signed-session-store.ts: a
// revoked session's digest goes into a sorted set in Redis (score: when the session would have
// expired) and out on a pub/sub channel; every process keeps the set in memory, loaded at start
// (before it listens) and kept current from the channel, so a check never waits for Redis. Expired
// entries are dropped here and in Redis every few minutes.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { RevocationList } from './signed-session-store.ts';

const PRUNE_INTERVAL_MS = 5 * 60_000;

export interface SharedRevocations extends RevocationList {
  /** Loads the revocations in Redis and follows new ones; `subscriber` is a connection of its own. */
  connect(command: Redis, subscriber: Redis, prefix: string): Promise<void>;
  close(): Promise<void>;
}

export function createSharedRevocations(log: Logger, now: () => number = Date.now): SharedRevocations {
  const local = new Map<string, number>();
  let link: { command: Redis; subscriber: Redis; key: string; channel: string } | undefined;
  let prune: NodeJS.Timeout | undefined;
  const remember = (digest: string, untilMs: number) => {
    if (untilMs > now()) local.set(digest, Math.max(untilMs, local.get(digest) ?? 0));
  };
  return {
    has(digest) {
      const until = local.get(digest);
      if (until === undefined) return false;
      if (until > now()) return true;
      local.delete(digest);
      return false;
    },
    add(digest, untilMs) {
      remember(digest, untilMs);
      if (!link) return;
      const { command, key, channel } = link;
      command
        .multi()
        .zadd(key, untilMs, digest)
        .publish(channel, `${untilMs} ${digest}`)
        .exec()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'a sign-out could not be shared with the other hub processes'));
    },
    get size() {
      return local.size;
    },
    async connect(command, subscriber, prefix) {
      const key = `${prefix}sessions:revoked`;
      const channel = `${prefix}sessions:revoked`;
      link = { command, subscriber, key, channel };
      subscriber.on('message', (ch: string, message: string) => {
        if (ch !== channel) return;
        const space = message.indexOf(' ');
        if (space > 0) remember(message.slice(space + 1), Number(message.slice(0, space)));
      });
      await subscriber.subscribe(channel);
      const entries = await command.zrangebyscore(key, now(), '+inf', 'WITHSCORES');
      for (let i = 0; i + 1 < entries.length; i += 2) remember(entries[i]!, Number(entries[i + 1]));
      prune = setInterval(() => {
        for (const [d, until] of local) if (until <= now()) local.delete(d);
        command.zremrangebyscore(key, '-inf', now()).catch(() => {});
      }, PRUNE_INTERVAL_MS);
      prune.unref();
    },
    async close() {
      clearInterval(prune);
      link = undefined;
    },
  };
}
