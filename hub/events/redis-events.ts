// Report events on a Redis Stream (XADD, capped), tailed with XREAD BLOCK on a dedicated connection so
// every replica's subscribers see every replica's reports. Shared work (alert evaluation) reads the
// same stream through a consumer group (redis-stream-group.ts), one member per hub.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { eventJson } from '../state/record-json.ts';
import { deliver, type EventBus, type ReportEvent, type ReportEventHandler } from './event-bus.ts';
import { createPause } from './pause.ts';
import { consumerName, startStreamGroupReader, type StreamGroupReader } from './redis-stream-group.ts';

export const EVENTS_STREAM_MAXLEN = 100_000;
/** Default time after which a silent member's pending events are claimed by another. */
export const DEFAULT_CLAIM_IDLE_MS = 30_000;
/**
 * After a read that did not fill its COUNT, the tail waits this long before the next: new entries
 * gather meanwhile, so at 1,000 reports/s it is ~40 reads of ~25 entries instead of one read per
 * publish. The delay a live subscriber (dashboard, edge) sees grows by at most this much.
 */
export const TAIL_GATHER_MS = 25;
/** The same for the consumer group (alert evaluation): its rules hold for seconds, not milliseconds. */
export const GROUP_GATHER_MS = 100;
const TAIL_COUNT = 1000;
/** Events per script call of publishEach: a large batch is split so one call never holds Redis long. */
export const PUBLISH_CHUNK = 250;

/**
 * KEYS[1] = the stream; ARGV[1] = MAXLEN, then one event JSON per entry. What a pipeline of XADDs
 * did, as one command: the client builds and parses one command per batch instead of one per event.
 */
const PUBLISH_SCRIPT = `
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
end
return #ARGV - 1
`;
type PublishCommand = (stream: string, maxLen: number, ...events: string[]) => unknown;

export function createRedisEvents(
  command: Redis,
  openBlocking: () => Redis,
  log: Logger,
  options: { prefix?: string } = {},
): EventBus & {
  readonly streamKey: string;
  publishMany(events: readonly ReportEvent[]): Promise<void>;
  publishEach(events: readonly ReportEvent[]): Promise<Array<Error | null>>;
} {
  const streamKey = `${options.prefix ?? 'sysmonstm:'}events`;
  const handlers = new Set<ReportEventHandler>();
  const groupReaders = new Set<StreamGroupReader>();
  let tail: Promise<void> | undefined;
  let reader: Redis | undefined;
  let closed = false;
  /** The tail's waits (gathering, retrying): close() ends them. */
  const pause = createPause();

  async function tailLoop(): Promise<void> {
    reader = openBlocking();
    let lastId = '$';
    while (!closed) {
      try {
        const res = (await reader.xread('COUNT', TAIL_COUNT, 'BLOCK', 1000, 'STREAMS', streamKey, lastId)) as
          | [string, [string, string[]][]][]
          | null;
        if (!res) continue;
        let read = 0;
        for (const [, entries] of res) {
          read += entries.length;
          for (const [id, fields] of entries) {
            lastId = id;
            const raw = fields[1];
            let event: ReportEvent;
            try {
              event = JSON.parse(raw) as ReportEvent;
            } catch {
              log.warn({ id }, 'skipping malformed event on stream');
              continue;
            }
            deliver(handlers, event, (err) => log.error({ err }, 'event handler failed'));
          }
        }
        if (read < TAIL_COUNT) await pause.sleep(TAIL_GATHER_MS); // at once once closed
      } catch (err) {
        if (closed) break;
        log.warn({ err: (err as Error).message }, 'event stream read failed; retrying');
        await pause.sleep(500);
      }
    }
  }

  if (!('sysmonstmPublish' in command)) command.defineCommand('sysmonstmPublish', { numberOfKeys: 1, lua: PUBLISH_SCRIPT });

  /**
   * One script call per PUBLISH_CHUNK events, all in one pipeline; per event, null when it is on the
   * stream, else why not (a failed call fails every event of its chunk: they are delivered in this
   * hub instead, fallback-events.ts, and a few may then be seen twice, never lost).
   */
  async function publishEach(events: readonly ReportEvent[]): Promise<Array<Error | null>> {
    if (events.length === 0) return [];
    const pipeline = command.pipeline() as unknown as { sysmonstmPublish: PublishCommand; exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (let from = 0; from < events.length; from += PUBLISH_CHUNK) {
      pipeline.sysmonstmPublish(streamKey, EVENTS_STREAM_MAXLEN, ...events.slice(from, from + PUBLISH_CHUNK).map(eventJson));
    }
    let results: Array<[Error | null, unknown]>;
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (err) {
      return events.map(() => err as Error);
    }
    return events.map((_, i) => {
      const result = results[Math.floor(i / PUBLISH_CHUNK)];
      return result ? result[0] : new Error('no reply from Redis');
    });
  }

  return {
    kind: 'redis',
    streamKey,
    async publish(event) {
      await command.xadd(streamKey, 'MAXLEN', '~', EVENTS_STREAM_MAXLEN, '*', 'e', JSON.stringify(event));
    },
    publishEach,
    async publishMany(events) {
      const failed = (await publishEach(events)).find((e) => e !== null);
      if (failed) throw failed;
    },
    consume(group, handler, consumeOptions = {}) {
      const reader = startStreamGroupReader({
        command,
        blocking: openBlocking(),
        stream: streamKey,
        group,
        consumer: consumerName(),
        startId: '$',
        claimIdleMs: consumeOptions.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS,
        gatherMs: GROUP_GATHER_MS,
        batchSize: 1000,
        log,
        async handle(entries) {
          if (consumeOptions.idle?.()) return;
          const events: ReportEvent[] = [];
          for (const entry of entries) {
            try {
              if (entry.value !== undefined) events.push(JSON.parse(entry.value) as ReportEvent);
            } catch {
              log.warn({ id: entry.id, group }, 'skipping malformed event on stream');
            }
          }
          if (events.length) await handler(events);
        },
      });
      groupReaders.add(reader);
      return async () => {
        groupReaders.delete(reader);
        await reader.close();
      };
    },
    subscribe(handler) {
      handlers.add(handler);
      tail ??= tailLoop();
      return () => handlers.delete(handler);
    },
    async close() {
      closed = true;
      pause.stop();
      handlers.clear();
      reader?.disconnect();
      await Promise.all([...groupReaders].map((r) => r.close()));
      groupReaders.clear();
      await tail?.catch(() => {});
    },
  };
}
