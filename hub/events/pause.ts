// A pause a reader's loop can be stopped from: the stream readers wait between reads for entries to
// gather, or before retrying, and closing them must not wait for that time to pass.

export interface Pause {
  /** Resolves after `ms`, or at once once stop() was called (also when it is called meanwhile). */
  sleep(ms: number): Promise<void>;
  /** Ends the current sleep now, and every later one at once. */
  stop(): void;
}

export function createPause(): Pause {
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    sleep(ms) {
      if (stopped) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
      });
    },
    stop() {
      stopped = true;
      wake?.();
    },
  };
}
