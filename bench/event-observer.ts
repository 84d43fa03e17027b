// Watches the hub's report events on its Redis Stream from outside the hub, to measure
// receipt → publish without adding work to the hub process:
//   - publish latency = the entry's stream id time (set by Redis when the hub's XADD runs) − the
//     event's receivedAtMs (set by the hub when the report arrived): receipt → event published;
//   - delivery latency = when this reader got the entry − receivedAtMs: receipt → seen by a
//     subscriber tailing the stream (what the hub's fleet view and other replicas experience).
// Same machine, same clock. Only entries read while recording count.
import { Redis } from 'ioredis';
import { SampleList } from './results.ts';

/** receivedAtMs of an event entry's JSON without parsing all of it (it is the last field written). */
export function receivedAtOf(json: string): number | undefined {
  const at = json.lastIndexOf('"receivedAtMs":');
  if (at === -1) return undefined;
  const v = Number.parseInt(json.slice(at + 15, at + 40), 10);
  return Number.isFinite(v) ? v : undefined;
}

export class EventObserver {
  readonly publishMs = new SampleList();
  readonly deliverMs = new SampleList();
  /** Entries read while recording. */
  recorded = 0;
  /** Entries read in all. */
  seen = 0;
  malformed = 0;
  private recording = false;
  private closed = false;
  private readonly redis: Redis;
  private readonly streamKey: string;
  private loop: Promise<void> | undefined;

  constructor(redisUrl: string, streamKey: string) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, connectionName: 'sysmonstm-bench-observer' });
    this.redis.on('error', () => {});
    this.streamKey = streamKey;
  }

  start(): void {
    this.loop ??= this.tail();
  }

  /** Clears the samples and records from now on. */
  begin(): void {
    this.publishMs.clear();
    this.deliverMs.clear();
    this.recorded = 0;
    this.recording = true;
  }

  end(): { publishMs: Float64Array; deliverMs: Float64Array; recorded: number } {
    this.recording = false;
    return { publishMs: this.publishMs.values().slice(), deliverMs: this.deliverMs.values().slice(), recorded: this.recorded };
  }

  private async tail(): Promise<void> {
    let lastId = '$';
    while (!this.closed) {
      let res: [string, [string, string[]][]][] | null;
      try {
        res = (await this.redis.xread('COUNT', 5000, 'BLOCK', 500, 'STREAMS', this.streamKey, lastId)) as typeof res;
      } catch (err) {
        if (this.closed) return;
        throw err;
      }
      const now = Date.now();
      if (!res) continue;
      for (const [, entries] of res) {
        for (const [id, fields] of entries) {
          lastId = id;
          this.seen++;
          const receivedAtMs = receivedAtOf(fields[1] ?? '');
          if (receivedAtMs === undefined) {
            this.malformed++;
            continue;
          }
          if (!this.recording) continue;
          this.recorded++;
          this.publishMs.push(Number(id.slice(0, id.indexOf('-'))) - receivedAtMs);
          this.deliverMs.push(now - receivedAtMs);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.redis.disconnect();
    await this.loop?.catch(() => {});
  }
}
