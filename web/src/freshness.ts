// How current a machine's numbers are, as the viewer should read them: live, stale (a few intervals
// without a report — the hub has not called it offline yet) or offline (the hub/relay says so). Pure.
import type { MachineView } from '../../proto/delta.ts';

export type Freshness = 'live' | 'stale' | 'offline';

export const STALE_AFTER_INTERVALS = 3;
export const STALE_AFTER_MIN_MS = 3_000;

export function staleAfterMs(intervalMs: number): number {
  return Math.max(STALE_AFTER_MIN_MS, STALE_AFTER_INTERVALS * (Number.isFinite(intervalMs) && intervalMs > 0 ? intervalMs : 1000));
}

/** `nowMs` is on the server's clock (see FleetStore.serverNow), so a skewed viewer clock does not matter. */
export function freshness(m: Pick<MachineView, 'status' | 'lastSeen' | 'intervalMs'>, nowMs: number): Freshness {
  if (m.status === 'offline') return 'offline';
  return nowMs - m.lastSeen > staleAfterMs(m.intervalMs) ? 'stale' : 'live';
}
