// The collector's report sequence: the next seq per machine id, persisted in DATA_DIR so a restarted
// collector continues where it stopped instead of reusing seqs the hub already holds (the hub drops a
// (machine_id, seq) it has seen as a replay).
//
// The file (`collector-seq-<machine id>.json`) is written atomically (temp file + rename), at most once
// per second while reports are produced, and on close.
//
// Reconciling with the hub (`planAfterWelcome`): the Welcome of every stream carries last_seq, the
// highest seq the hub holds for this machine. A report this process has already sent on some stream
// may really be among those (its ack was lost), so sent reports with seq <= last_seq count as acked.
// A report this process has *never sent* cannot be on the hub; if its seq is <= last_seq the hub holds
// a different report under that seq — from an earlier run whose seq file is missing (first start on
// a reinstalled machine, lost data dir) or lagged behind (crash inside the one-second write window).
// Then every unsent report is renumbered from last_seq + 1, in order, and the counter continues after
// them. Without this, those reports would be acked as duplicates and silently lost. (This covers the
// case "started without a seq file and the hub has seqs" and also the crash window.)
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface WelcomePlanInput {
  /** welcome.last_seq */
  hubLastSeq: number;
  /** Highest seq this process has written to any stream (0 = none yet). */
  highestSentSeq: number;
  /** Lowest buffered seq not yet sent, and how many such reports there are. */
  firstUnsentSeq: number | undefined;
  unsentCount: number;
  nextSeq: number;
}

export interface WelcomePlan {
  /** Drop buffered reports with seq <= this: the hub holds them. */
  ackUpTo: number;
  /** When set, renumber the unsent reports (seq > highestSentSeq) from this seq on. */
  renumberFrom: number | undefined;
  nextSeq: number;
}

/** Pure: what to do with the buffer and the counter when a Welcome arrives (rule in the header). */
export function planAfterWelcome(input: WelcomePlanInput): WelcomePlan {
  const { hubLastSeq, highestSentSeq, firstUnsentSeq, unsentCount } = input;
  const ackUpTo = Math.min(hubLastSeq, highestSentSeq);
  if (firstUnsentSeq !== undefined && firstUnsentSeq <= hubLastSeq) {
    return { ackUpTo, renumberFrom: hubLastSeq + 1, nextSeq: Math.max(input.nextSeq, hubLastSeq + 1 + unsentCount) };
  }
  // Nothing unsent collides, but the next reports would: continue after the hub.
  return { ackUpTo, renumberFrom: undefined, nextSeq: Math.max(input.nextSeq, hubLastSeq + 1) };
}

export interface SeqStore {
  /** True when a seq file for this machine was found at open. */
  readonly restored: boolean;
  /** The seq the next report gets. */
  readonly nextSeq: number;
  /** Returns the next seq and advances the counter (the write to disk follows within a second). */
  take(): number;
  /** Moves the counter forward (never back). */
  advanceTo(nextSeq: number): void;
  /** Writes the file now if the counter changed since the last write. */
  flush(): Promise<void>;
  /** Stops the write timer and flushes. Idempotent. */
  close(): Promise<void>;
}

export interface SeqStoreOptions {
  dataDir: string;
  machineId: string;
  /** Minimum time between two writes. */
  writeIntervalMs?: number;
  onWriteError?: (err: unknown) => void;
}

interface SeqFile {
  machineId: string;
  nextSeq: number;
  savedAt: string;
}

export function seqFilePath(dataDir: string, machineId: string): string {
  return join(dataDir, `collector-seq-${machineId}.json`);
}

export async function openSeqStore(options: SeqStoreOptions): Promise<SeqStore> {
  const path = seqFilePath(options.dataDir, options.machineId);
  const writeIntervalMs = options.writeIntervalMs ?? 1000;
  await mkdir(options.dataDir, { recursive: true });

  let nextSeq = 1;
  let restored = false;
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new Error(`cannot read the seq file ${path}: ${err.message}`);
  });
  if (text !== null) {
    let parsed: Partial<SeqFile>;
    try {
      parsed = JSON.parse(text) as Partial<SeqFile>;
    } catch {
      throw new Error(`the seq file ${path} is not valid JSON; delete it to start over (the hub's Welcome will renumber)`);
    }
    if (!Number.isSafeInteger(parsed.nextSeq) || (parsed.nextSeq as number) < 1) {
      throw new Error(`the seq file ${path} has no valid nextSeq; delete it to start over`);
    }
    nextSeq = parsed.nextSeq as number;
    restored = true;
  }

  let writtenSeq = restored ? nextSeq : 0;
  let lastWriteAtMs = 0;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed: Promise<void> | undefined;

  const writeNow = async () => {
    if (nextSeq === writtenSeq) return;
    const value = nextSeq;
    const body: SeqFile = { machineId: options.machineId, nextSeq: value, savedAt: new Date().toISOString() };
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(body) + '\n');
    await rename(temp, path);
    writtenSeq = value;
    lastWriteAtMs = Date.now();
  };
  /** Writes are serialised; a failed write is reported and the next one tries again. */
  const write = (): Promise<void> => {
    writing = writing.then(writeNow).catch((err: unknown) => {
      lastWriteAtMs = Date.now();
      options.onWriteError?.(err);
    });
    return writing;
  };

  const schedule = () => {
    if (timer || closed) return;
    const waitMs = Math.max(0, lastWriteAtMs + writeIntervalMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      void write();
    }, waitMs);
    timer.unref();
  };

  return {
    restored,
    get nextSeq() {
      return nextSeq;
    },
    take() {
      const seq = nextSeq++;
      schedule();
      return seq;
    },
    advanceTo(value) {
      if (value > nextSeq) {
        nextSeq = value;
        schedule();
      }
    },
    flush: write,
    close() {
      closed ??= (async () => {
        clearTimeout(timer);
        timer = undefined;
        await write();
      })();
      return closed;
    },
  };
}
