// The sign-outs of every process of one hub (HUB_PROCESSES > 1), for signed-session-store.ts: a
// revoked session's digest goes into a sorted set in Redis (score: when the session would have
// expired) and out on a pub/sub channel; every process keeps the set in memory, loaded at start
// (before it listens) and kept current from the channel, so a check never waits for Redis. Expired
// entries are dropped here and in Redis every few minutes. A sign-out that could not be written to
// Redis is written again until it is (or expires), and a process whose channel connection was lost
// loads the set again once it is subscribed anew (what was published meanwhile reached it not).
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { RevocationList } from './signed-session-store.ts';

const PRUNE_INTERVAL_MS = 5 * 60_000;
/** How often sign-outs that could not be shared are written again. */
const RETRY_INTERVAL_MS = 2000;

export interface SharedRevocations extends RevocationList {
  /** Loads the revocations in Redis and follows new ones; `subscriber` is a connection of its own. */
  connect(command: Redis, subscriber: Redis, prefix: string): Promise<void>;
  close(): Promise<void>;
}

export function createSharedRevocations(log: Logger, now: () => number = Date.now): SharedRevocations {
  const local = new Map<string, number>();
  let link: { command: Redis; subscriber: Redis; key: string; channel: string } | undefined;
  let prune: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  /** Sign-outs of this process not yet in Redis. */
  const unshared = new Map<string, number>();
  const remember = (digest: string, untilMs: number) => {
    if (untilMs > now()) local.set(digest, Math.max(untilMs, local.get(digest) ?? 0));
  };
  const share = (digest: string, untilMs: number) => {
    if (!link) return;
    const { command, key, channel } = link;
    command
      .multi()
      .zadd(key, untilMs, digest)
      .publish(channel, `${untilMs} ${digest}`)
      .exec()
      .then(() => {
        if (unshared.get(digest) === untilMs) unshared.delete(digest);
      })
      .catch((err: unknown) => {
        if (!unshared.has(digest)) log.warn({ err: (err as Error).message }, 'a sign-out could not be shared with the other hub processes yet; trying again');
        unshared.set(digest, Math.max(untilMs, unshared.get(digest) ?? 0));
        scheduleRetry();
      });
  };
  const scheduleRetry = () => {
    if (retry || !link) return;
    retry = setTimeout(() => {
      retry = undefined;
      for (const [digest, untilMs] of unshared) {
        if (untilMs <= now()) unshared.delete(digest);
        else share(digest, untilMs);
      }
    }, RETRY_INTERVAL_MS);
    retry.unref();
  };
  /** Everything revoked in Redis and not yet expired, into the local set. */
  const load = async (command: Redis, key: string) => {
    const entries = await command.zrangebyscore(key, now(), '+inf', 'WITHSCORES');
    for (let i = 0; i + 1 < entries.length; i += 2) remember(entries[i]!, Number(entries[i + 1]));
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
      share(digest, untilMs);
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
      await load(command, key);
      // Reconnected: once subscribed again, what was revoked while the channel was not heard is loaded.
      subscriber.on('ready', () => {
        if (link?.subscriber !== subscriber) return;
        subscriber
          .subscribe(channel)
          .then(() => load(command, key))
          .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'the sign-outs of the other hub processes could not be loaded again'));
      });
      prune = setInterval(() => {
        for (const [d, until] of local) if (until <= now()) local.delete(d);
        command.zremrangebyscore(key, '-inf', now()).catch(() => {});
      }, PRUNE_INTERVAL_MS);
      prune.unref();
    },
    async close() {
      clearInterval(prune);
      clearTimeout(retry);
      link = undefined;
    },
  };
}
