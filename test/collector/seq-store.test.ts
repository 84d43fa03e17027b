import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSeqStore, planAfterWelcome, seqFilePath } from '../../collector/seq-store.ts';

describe('planAfterWelcome', () => {
  it.each([
    // name, input, expected
    ['fresh hub, fresh collector', { hubLastSeq: 0, highestSentSeq: 0, firstUnsentSeq: 1, unsentCount: 3, nextSeq: 4 }, { ackUpTo: 0, renumberFrom: undefined, nextSeq: 4 }],
    ['reconnect: hub has part of what was sent', { hubLastSeq: 7, highestSentSeq: 9, firstUnsentSeq: 10, unsentCount: 2, nextSeq: 12 }, { ackUpTo: 7, renumberFrom: undefined, nextSeq: 12 }],
    ['restart with a good seq file', { hubLastSeq: 50, highestSentSeq: 0, firstUnsentSeq: 51, unsentCount: 1, nextSeq: 52 }, { ackUpTo: 0, renumberFrom: undefined, nextSeq: 52 }],
    ['lost seq file: unsent reports collide', { hubLastSeq: 50, highestSentSeq: 0, firstUnsentSeq: 1, unsentCount: 4, nextSeq: 5 }, { ackUpTo: 0, renumberFrom: 51, nextSeq: 55 }],
    ['crash inside the write window: partial overlap', { hubLastSeq: 50, highestSentSeq: 0, firstUnsentSeq: 48, unsentCount: 5, nextSeq: 53 }, { ackUpTo: 0, renumberFrom: 51, nextSeq: 56 }],
    ['nothing buffered but the counter is behind the hub', { hubLastSeq: 50, highestSentSeq: 0, firstUnsentSeq: undefined, unsentCount: 0, nextSeq: 1 }, { ackUpTo: 0, renumberFrom: undefined, nextSeq: 51 }],
    ['hub lost its data: keep counting', { hubLastSeq: 0, highestSentSeq: 90, firstUnsentSeq: undefined, unsentCount: 0, nextSeq: 91 }, { ackUpTo: 0, renumberFrom: undefined, nextSeq: 91 }],
  ])('%s', (_name, input, expected) => {
    expect(planAfterWelcome(input)).toEqual(expected);
  });
});

describe('seq store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sysmonstm-seq-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts at 1 without a file, persists on close, and a reopened store continues', async () => {
    const first = await openSeqStore({ dataDir: dir, machineId: 'box-1' });
    expect(first.restored).toBe(false);
    expect([first.take(), first.take(), first.take()]).toEqual([1, 2, 3]);
    await first.close();
    await first.close(); // idempotent
    const saved = JSON.parse(await readFile(seqFilePath(dir, 'box-1'), 'utf8'));
    expect(saved).toMatchObject({ machineId: 'box-1', nextSeq: 4 });
    const second = await openSeqStore({ dataDir: dir, machineId: 'box-1' });
    expect(second.restored).toBe(true);
    expect(second.take()).toBe(4);
    second.advanceTo(100);
    second.advanceTo(50); // never backwards
    expect(second.take()).toBe(100);
    await second.close();
  });

  it('writes at most once per interval while seqs are taken, leaving no temp files', async () => {
    const store = await openSeqStore({ dataDir: dir, machineId: 'm', writeIntervalMs: 600 });
    store.take();
    await new Promise((r) => setTimeout(r, 150));
    expect(JSON.parse(await readFile(seqFilePath(dir, 'm'), 'utf8')).nextSeq).toBe(2);
    for (let i = 0; i < 10; i++) store.take();
    await new Promise((r) => setTimeout(r, 150));
    expect(JSON.parse(await readFile(seqFilePath(dir, 'm'), 'utf8')).nextSeq).toBe(2); // throttled
    await new Promise((r) => setTimeout(r, 600));
    expect(JSON.parse(await readFile(seqFilePath(dir, 'm'), 'utf8')).nextSeq).toBe(12);
    await store.close();
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names the file when it is corrupt', async () => {
    await writeFile(seqFilePath(dir, 'm'), '{nope');
    await expect(openSeqStore({ dataDir: dir, machineId: 'm' })).rejects.toThrow(/collector-seq-m\.json is not valid JSON/);
    await writeFile(seqFilePath(dir, 'm'), '{"nextSeq": -3}');
    await expect(openSeqStore({ dataDir: dir, machineId: 'm' })).rejects.toThrow(/no valid nextSeq/);
  });
});
