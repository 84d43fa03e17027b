// Shared work on a Redis Stream: one consumer of a consumer group per hub. XREADGROUP hands each entry
// to one consumer; the entry is acknowledged (XACK) only after the handler resolved, so a hub that
// crashes mid-way leaves its entries pending, and XAUTOCLAIM hands entries pending longer than
// `claimIdleMs` to a live consumer (another hub, or this one after a failed attempt). Handlers must be
// idempotent: an entry may be handled again after a crash. Consumers gone quiet with nothing pending
// are removed from the group after an hour.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { createPause } from './pause.ts';

export interface StreamEntry {
  id: string;
  /** The entry's `e` field (this project writes one JSON value per entry). */
  value: string | undefined;
}

export interface StreamGroupOptions {
  /** Runs XGROUP, XACK, XAUTOCLAIM. */
  command: Redis;
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  blocking: Redis;
  stream: string;
  group: string;
  /** Unique per hub process; see consumerName(). */
  consumer: string;
  /** Where a new group starts: '$' (new entries only) or '0' (everything still in the stream). */
  startId: '$' | '0';
  /** Entries pending this long are claimed from whoever holds them. */
  claimIdleMs: number;
  batchSize?: number;
  /** After a read that did not fill batchSize, wait this long before the next so entries gather (default 0). */
  gatherMs?: number;
  log: Logger;
  /** Handles a batch in stream order. Resolving acknowledges every entry; throwing leaves them pending. */
  handle(entries: StreamEntry[]): Promise<void>;
}

export interface StreamGroupReader {
  readonly consumer: string;
  readonly stats: { handled: number; claimed: number; failedBatches: number };
  close(): Promise<void>;
}

const IDLE_CONSUMER_MAX_MS = 3600_000;

export function consumerName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** Creates the group (and the stream) unless it exists. */
export async function ensureGroup(command: Redis, stream: string, group: string, startId: '$' | '0'): Promise<void> {
  try {
    await command.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
  } catch (err) {
    if (!/BUSYGROUP/.test((err as Error).message)) throw err;
  }
}

type RawEntry = [string, string[] | null];

function toEntries(raw: RawEntry[]): StreamEntry[] {
  return raw.map(([id, fields]) => {
    let value: string | undefined;
    if (fields) for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'e') value = fields[i + 1];
    return { id, value };
  });
}

export function startStreamGroupReader(options: StreamGroupOptions): StreamGroupReader {
  const { command, blocking, stream, group, consumer, log } = options;
  const batchSize = options.batchSize ?? 200;
  const gatherMs = options.gatherMs ?? 0;
  const claimEveryMs = Math.max(100, Math.min(5000, Math.floor(options.claimIdleMs / 2)));
  const blockMs = Math.max(50, Math.min(1000, claimEveryMs));
  const stats = { handled: 0, claimed: 0, failedBatches: 0 };
  let closed = false;
  /** The loop's waits (gathering, retrying): close() ends them. */
  const pause = createPause();
  let nextClaimAt = 0;
  let nextCleanupAt = Date.now() + 60_000;

  async function handleBatch(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await options.handle(entries);
    } catch (err) {
      stats.failedBatches++;
      log.warn({ err: (err as Error).message, stream, group, entries: entries.length }, `stream entries left pending; they are retried after ${options.claimIdleMs} ms`);
      return;
    }
    stats.handled += entries.length;
    await command.xack(stream, group, ...entries.map((e) => e.id));
  }

  /** Claims entries idle past claimIdleMs (a crashed consumer's, or our own failed ones). */
  async function claimStale(): Promise<StreamEntry[]> {
    const out: StreamEntry[] = [];
    let cursor = '0-0';
    for (let round = 0; round < 10 && out.length < batchSize; round++) {
      const res = (await command.xautoclaim(stream, group, consumer, options.claimIdleMs, cursor, 'COUNT', batchSize)) as [string, RawEntry[], string[]?];
      const [next, raw] = res;
      // Entries trimmed from the stream come back without fields (Redis 6.2); Redis 7 drops them from the PEL itself.
      const gone = raw.filter(([, fields]) => fields === null).map(([id]) => id);
      if (gone.length) await command.xack(stream, group, ...gone);
      out.push(...toEntries(raw.filter(([, fields]) => fields !== null)));
      if (next === '0-0') break;
      cursor = next;
    }
    if (out.length) {
      stats.claimed += out.length;
      log.info({ stream, group, entries: out.length }, 'claimed pending entries of a silent consumer');
    }
    return out;
  }

  async function removeIdleConsumers(): Promise<void> {
    const info = (await command.xinfo('CONSUMERS', stream, group)) as unknown[][];
    for (const fields of info) {
      const c: Record<string, unknown> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) c[String(fields[i])] = fields[i + 1];
      if (c.name !== consumer && Number(c.pending) === 0 && Number(c.idle) > IDLE_CONSUMER_MAX_MS) {
        await command.xgroup('DELCONSUMER', stream, group, String(c.name));
      }
    }
  }

  const loop = (async () => {
    while (!closed) {
      try {
        await ensureGroup(command, stream, group, options.startId);
        break;
      } catch (err) {
        log.warn({ err: (err as Error).message, stream, group }, 'could not create the consumer group; retrying');
        await pause.sleep(1000);
      }
    }
    while (!closed) {
      try {
        if (Date.now() >= nextClaimAt) {
          nextClaimAt = Date.now() + claimEveryMs;
          const claimed = await claimStale();
          if (claimed.length) {
            await handleBatch(claimed);
            continue;
          }
          if (Date.now() >= nextCleanupAt) {
            nextCleanupAt = Date.now() + 600_000;
            await removeIdleConsumers();
          }
        }
        const res = (await blocking.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as
          | [string, RawEntry[]][]
          | null;
        if (!res) continue;
        let read = 0;
        for (const [, raw] of res) {
          read += raw.length;
          await handleBatch(toEntries(raw));
        }
        if (gatherMs > 0 && read < batchSize) await pause.sleep(gatherMs); // at once once closed
      } catch (err) {
        if (closed) break;
        const message = (err as Error).message;
        if (/NOGROUP/.test(message)) {
          // The stream or group was deleted under us: create them again.
          await ensureGroup(command, stream, group, options.startId).catch(() => {});
          continue;
        }
        log.warn({ err: message, stream, group }, 'stream group read failed; retrying');
        await pause.sleep(500);
      }
    }
  })();

  return {
    consumer,
    stats,
    async close() {
      closed = true;
      pause.stop();
      blocking.disconnect();
      await loop.catch(() => {});
    },
  };
}
