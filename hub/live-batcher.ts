// Current state and report events written per batch instead of per report: every accepted report
// hands its live update here, and `delayMs` after the first one (the hub's LIVE_BATCH_DELAY_MS; 0: on the
// next turn of the event loop) the batch goes out as one state write and one event publish. Per
// machine only the newest update of a batch is written: an older one waiting in the same batch is
// superseded (counted), which is what the per-stream "newest wins" did before, now across the hub.
// One flush runs at a time; updates that arrive meanwhile wait for the next one (which starts when the
// running one ends if their delay is up by then), so under overload the batch grows instead of the number
// of writes in flight. A second update of a machine while no flush runs sends the batch at once, so
// nothing is superseded while the writes keep up. History is not here: it has its own writer, and acks
// never wait for this.
//
// The merging is pure (`mergeLive`); the timer and the I/O are the shell around it.

export interface LiveItem<T> {
  machineId: string;
  value: T;
}

/**
 * Adds `item` to `batch` (newest per machine wins, in first-arrival order); returns true when it
 * replaced an older item of the same machine. Pure apart from the map it is given.
 */
export function mergeLive<T>(batch: Map<string, T>, machineId: string, value: T): boolean {
  const superseded = batch.has(machineId);
  // Map.set on an existing key keeps its position: machines are written in the order they first came.
  batch.set(machineId, value);
  return superseded;
}

export interface LiveBatcherOptions<T> {
  /** Writes one batch; a throw is logged by the caller's `onError`, the batch is not retried (live views only). */
  flush(items: readonly T[]): Promise<void>;
  onError(err: unknown, items: readonly T[]): void;
  /**
   * 0: flush on the next turn of the event loop (setImmediate); > 0: this long after the batch's first
   * item (sooner at maxItems or a machine's second update, later while the previous flush still runs).
   */
  delayMs?: number;
  /** Above this many machines waiting, flush at once. */
  maxItems?: number;
}

export interface LiveBatcher<T> {
  /** Queues the update; resolves once the batch it ended up in was written (or failed, logged). */
  add(machineId: string, value: T): Promise<void>;
  /** Writes what waits now (without its delay) and resolves once everything queued so far is written. */
  drain(): Promise<void>;
  readonly stats: { batches: number; items: number; superseded: number; largestBatch: number };
}

export function createLiveBatcher<T>(options: LiveBatcherOptions<T>): LiveBatcher<T> {
  const delayMs = options.delayMs ?? 0;
  const maxItems = options.maxItems ?? 5000;
  const stats = { batches: 0, items: 0, superseded: 0, largestBatch: 0 };
  let pending = new Map<string, T>();
  /** When the oldest waiting item came (performance.now()): it goes out at most delayMs later, or as soon as the running flush ends. */
  let pendingSinceMs = 0;
  let pendingDone: { promise: Promise<void>; resolve: () => void } | undefined;
  let running: Promise<void> | undefined;
  /** The wake-up of the waiting batch (set: it is scheduled); cancelled when the batch goes out sooner (a forced run), so it never fires into the next one. */
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;

  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };

  function schedule(): void {
    if (timer || immediate || running) return; // a running flush picks the batch up when it ends
    if (delayMs > 0) timer = setTimeout(run, Math.max(0, pendingSinceMs + delayMs - performance.now()));
    else immediate = setImmediate(run);
  }

  function run(): void {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = immediate = undefined;
    if (running || pending.size === 0) return;
    const batch = pending;
    const done = pendingDone!;
    pending = new Map();
    pendingDone = undefined;
    const items = [...batch.values()];
    stats.batches++;
    stats.items += items.length;
    if (items.length > stats.largestBatch) stats.largestBatch = items.length;
    running = options
      .flush(items)
      .catch((err: unknown) => options.onError(err, items))
      .finally(() => {
        running = undefined;
        done.resolve();
        if (pending.size > 0) {
          if (pending.size >= maxItems) run();
          else schedule();
        }
      });
  }

  return {
    stats,
    add(machineId, value) {
      // A machine's second update while nothing is being written: the batch has waited long enough
      // (no update is dropped while the writes keep up: a collector replaying its buffer after a
      // reconnect gets every point into the recent ring).
      if (!running && pending.has(machineId)) run();
      if (pending.size === 0) pendingSinceMs = performance.now();
      if (mergeLive(pending, machineId, value)) stats.superseded++;
      pendingDone ??= deferred();
      const promise = pendingDone.promise;
      if (!running && pending.size >= maxItems) run();
      else schedule();
      return promise;
    },
    async drain() {
      while (running || pending.size > 0) {
        if (running) await running;
        else run(); // what waits for its delay goes out now
      }
    },
  };
}
