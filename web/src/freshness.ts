// How current a machine's numbers are, as the viewer should read them: live, stale (a few intervals
// without a report — the hub has not called it offline yet) or offline (the hub/relay says so). Pure.
// The silence rule is the kernel's (proto/status.ts), the one the hub and the relay decide offline by;
// a machine the dashboard's clock finds past it stays `stale` until the hub or relay calls it offline.
import type { MachineView } from '../../proto/delta.ts';
import { silence, STALE_AFTER_INTERVALS, STALE_AFTER_MIN_MS, staleAfterMs } from '../../proto/status.ts';

export type Freshness = 'live' | 'stale' | 'offline';

export { STALE_AFTER_INTERVALS, STALE_AFTER_MIN_MS, staleAfterMs };

/** `nowMs` is on the server's clock (see FleetStore.serverNow), so a skewed viewer clock does not matter. */
export function freshness(m: Pick<MachineView, 'status' | 'lastSeen' | 'intervalMs'>, nowMs: number): Freshness {
  if (m.status === 'offline') return 'offline';
  return silence(m.lastSeen, m.intervalMs, nowMs) === 'live' ? 'live' : 'stale';
}
