import { describe, expect, it } from 'vitest';
import { createLiveBatcher, mergeLive } from '../../hub/live-batcher.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('mergeLive', () => {
  it('keeps the newest value per machine, in the order machines first came', () => {
    const batch = new Map<string, number>();
    expect(mergeLive(batch, 'a', 1)).toBe(false);
    expect(mergeLive(batch, 'b', 2)).toBe(false);
    expect(mergeLive(batch, 'a', 3)).toBe(true);
    expect([...batch.entries()]).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
  });
});

describe('createLiveBatcher', () => {
  it('writes what arrived in one turn of the event loop as one batch', async () => {
    const batches: number[][] = [];
    const b = createLiveBatcher<number>({ flush: async (items) => void batches.push([...items]), onError: () => {} });
    const done = [b.add('a', 1), b.add('b', 2), b.add('c', 3)];
    expect(batches).toEqual([]); // nothing is written synchronously
    await Promise.all(done);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(b.stats).toMatchObject({ batches: 1, items: 3, superseded: 0, largestBatch: 3 });
  });

  it('with a delay, a second update of a machine sends the waiting batch at once instead of superseding', async () => {
    const batches: number[][] = [];
    const b = createLiveBatcher<number>({ flush: async (items) => void batches.push([...items]), onError: () => {}, delayMs: 200 });
    void b.add('a', 1);
    void b.add('b', 2);
    void b.add('a', 3); // a's second update: [1, 2] goes now
    expect(batches).toEqual([[1, 2]]);
    await b.drain();
    expect(batches).toEqual([[1, 2], [3]]);
    expect(b.stats.superseded).toBe(0);
  });

  it('a batch sent early (a second update) cancels its wake-up: the next batch still waits its own delay', async () => {
    const flushedAt: number[] = [];
    const started = performance.now();
    const b = createLiveBatcher<number>({ flush: async () => void flushedAt.push(performance.now() - started), onError: () => {}, delayMs: 100 });
    void b.add('a', 1);
    await new Promise((r) => setTimeout(r, 60));
    void b.add('a', 2); // [1] goes now; [2] is due ~100 ms later
    await new Promise((r) => setTimeout(r, 250));
    expect(flushedAt).toHaveLength(2);
    // Before: the first batch's timer, still armed, sent [2] at ~100 ms.
    expect(flushedAt[1]).toBeGreaterThanOrEqual(150);
  });

  it('drain() writes a waiting batch at once, without its delay', async () => {
    const batches: number[][] = [];
    const b = createLiveBatcher<number>({ flush: async (items) => void batches.push([...items]), onError: () => {}, delayMs: 10_000 });
    const started = performance.now();
    void b.add('a', 1);
    await b.drain();
    expect(batches).toEqual([[1]]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('runs one flush at a time; what arrives meanwhile goes out in the next batch, in order', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    let first = true;
    const b = createLiveBatcher<number>({
      flush: async (items) => {
        batches.push([...items]);
        if (first) {
          first = false;
          await new Promise<void>((r) => (release = r));
        }
      },
      onError: () => {},
    });
    const one = b.add('a', 1);
    await tick();
    expect(batches).toEqual([[1]]);
    const two = [b.add('a', 2), b.add('b', 3), b.add('a', 4)];
    await tick();
    await tick();
    expect(batches).toEqual([[1]]); // still waiting for the first
    release();
    await one;
    await Promise.all(two);
    expect(batches).toEqual([[1], [4, 3]]);
  });

  it('a failed flush is reported and the next batch still goes out', async () => {
    const errors: unknown[] = [];
    const batches: number[][] = [];
    let fail = true;
    const b = createLiveBatcher<number>({
      flush: async (items) => {
        if (fail) {
          fail = false;
          throw new Error('redis went away');
        }
        batches.push([...items]);
      },
      onError: (err, items) => errors.push([(err as Error).message, [...items]]),
    });
    await b.add('a', 1);
    await b.add('a', 2);
    expect(errors).toEqual([['redis went away', [1]]]);
    expect(batches).toEqual([[2]]);
  });

  it('flushes at once past maxItems, and drain() waits for everything queued', async () => {
    const batches: number[][] = [];
    const b = createLiveBatcher<number>({ flush: async (items) => void batches.push([...items]), onError: () => {}, maxItems: 2 });
    void b.add('a', 1);
    void b.add('b', 2); // reaches maxItems: written without waiting for the next turn
    expect(batches).toEqual([[1, 2]]);
    void b.add('c', 3);
    await b.drain();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('with delayMs, waits that long after the first item', async () => {
    const batches: number[][] = [];
    const b = createLiveBatcher<number>({ flush: async (items) => void batches.push([...items]), onError: () => {}, delayMs: 30 });
    const started = performance.now();
    const written = b.add('a', 1);
    await tick();
    expect(batches).toEqual([]);
    await written;
    expect(batches).toEqual([[1]]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(28);
  });

  it('with delayMs, an update that came during a slow flush goes out when that flush ends, not a full delay later', async () => {
    const flushes: Array<{ items: number[]; startMs: number; endMs: number }> = [];
    const b = createLiveBatcher<number>({
      flush: async (items) => {
        const startMs = performance.now();
        await new Promise((r) => setTimeout(r, items[0] === 1 ? 300 : 0));
        flushes.push({ items: [...items], startMs, endMs: performance.now() });
      },
      onError: () => {},
      delayMs: 100,
    });
    void b.add('a', 1); // written at ~100 ms, until ~400 ms
    await new Promise((r) => setTimeout(r, 150));
    void b.add('b', 2); // due at ~250 ms, while the first flush still runs
    await new Promise((r) => setTimeout(r, 500));
    expect(flushes.map((f) => f.items)).toEqual([[1], [2]]);
    // Before: the second batch waited another full delay (100 ms) after the first flush ended.
    expect(flushes[1].startMs - flushes[0].endMs).toBeLessThan(60);
  });
});
