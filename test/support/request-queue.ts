// Test support: the request side of a stream driven by hand. `requests()` yields what `push` queued and
// waits for more until `end()`; hand it to a service's streaming handler as its request iterable.
export function requestQueue<T>(): { requests(): AsyncGenerator<T>; push(item: T): void; end(): void } {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    async *requests() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    },
    push(item) {
      queue.push(item);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}
