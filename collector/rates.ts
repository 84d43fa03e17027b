// Counter → per-second rate. Kernel counters (bytes, ops, errors) only grow, except when they wrap
// (32-bit counters on some drivers and older kernels) or reset (an interface re-created, a driver
// reloaded). Pure, so the edge cases are table-tested.
//
// Rules:
// - first sample (no previous value) or no elapsed time → 0 (a rate needs two points in time);
// - current >= previous → (current - previous) / elapsed;
// - current < previous and previous was in the upper half of the 32-bit range → a 32-bit wrap:
//   the increase is 2^32 - previous + current;
// - any other decrease → a reset to zero since the previous sample: the increase is current.

const TWO_POW_32 = 2 ** 32;

/** The increase of a monotonically growing counter between two readings. */
export function counterIncrease(previous: number, current: number): number {
  if (current >= previous) return current - previous;
  if (previous >= TWO_POW_32 / 2 && previous < TWO_POW_32) return TWO_POW_32 - previous + current;
  return current;
}

/** Per-second rate of a counter between two readings `elapsedMs` apart. */
export function counterRatePerSec(previous: number | undefined, current: number, elapsedMs: number): number {
  if (previous === undefined || !(elapsedMs > 0) || !Number.isFinite(current) || !Number.isFinite(previous)) return 0;
  return (counterIncrease(previous, current) * 1000) / elapsedMs;
}
