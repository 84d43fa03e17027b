// Whether a view's hub is alive, decided from what the relay already knows without a storage write:
// when it last heard the hub (any frame, or an auto-answered ping) and whether its socket is open. The
// public page shows "live data paused" while the hub is not up; the dead-man webhook fires once when the
// hub has been silent for DEADMAN_AFTER_S and resolves once when it is heard again. Pure: the clock and
// every observation are arguments.

export interface HubWatchOptions {
  /** The hub counts as silent after hearing nothing for this long (even with its socket open). */
  readonly silentAfterMs: number;
  /** The dead-man webhook fires after this much silence (0 = no webhook configured). */
  readonly deadmanAfterMs: number;
}

export interface HubObservation {
  /** Relay ms of the last frame or answered ping from the hub; 0 = never heard. */
  heardAtMs: number;
  /** An open hub socket (or, behind a coordinator, frames arriving by RPC). */
  connected: boolean;
}

export function hubIsUp(o: HubObservation, nowMs: number, options: HubWatchOptions): boolean {
  return o.connected && o.heardAtMs > 0 && nowMs - o.heardAtMs < options.silentAfterMs;
}

export type DeadmanAction = 'fire' | 'resolve' | null;

/** What the dead-man switch does now, given whether it has fired already. A hub never heard of arms
 *  nothing (a view nobody feeds yet is not an outage). */
export function deadmanAction(fired: boolean, heardAtMs: number, nowMs: number, options: HubWatchOptions): DeadmanAction {
  if (options.deadmanAfterMs <= 0 || heardAtMs <= 0) return null;
  const silentMs = nowMs - heardAtMs;
  if (!fired && silentMs >= options.deadmanAfterMs) return 'fire';
  if (fired && silentMs < options.deadmanAfterMs) return 'resolve';
  return null;
}

/** When the relay should look again (its alarm), or null when nothing can change without a new frame. */
export function nextWatchAtMs(o: HubObservation, fired: boolean, nowMs: number, options: HubWatchOptions): number | null {
  const times: number[] = [];
  if (hubIsUp(o, nowMs, options)) times.push(o.heardAtMs + options.silentAfterMs);
  if (options.deadmanAfterMs > 0 && o.heardAtMs > 0 && !fired) times.push(o.heardAtMs + options.deadmanAfterMs);
  if (times.length === 0) return null;
  return Math.max(nowMs + 1, Math.min(...times));
}
