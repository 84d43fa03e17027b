// A public view as the dashboard shows it on the edge: where the page is (/v/{slug}?key=… or the
// default view at /), which socket and API prefix belong to it, and what the relay said about it — the
// view's title and metrics (`v`), whether the hub is heard (`h`, for the "live data paused" banner) and
// each machine's uptime over 24 h (`up`, drawn as a bar). Pure except createViewState's listeners.
import { LIVE_METRICS, type LiveMetric } from '../../proto/delta.ts';
import { VIEW_SLUG_PATTERN } from '../../proto/public-view.ts';
import type { HubStatusFrame, UptimeFrame, ViewInfoFrame } from '../../proto/view-frames.ts';

export interface ViewLocation {
  /** The view's slug, or null at "/" (the edge's default view, or the hub's own dashboard). */
  slug: string | null;
  key: string | null;
  /** Path of the live socket, with the key: /v/{slug}/ws?key=… or /ws. */
  socketPath: string;
  /** Prefix of the view's API (/v/{slug}) or "" at "/". */
  apiPrefix: string;
  /** Query string carrying the key for API calls ("?key=…" or ""). */
  keyQuery: string;
}

export function viewLocation(pathname: string, search: string): ViewLocation {
  const match = /^\/v\/([^/]+)\/?$/.exec(pathname);
  const slug = match && VIEW_SLUG_PATTERN.test(match[1]) ? match[1] : null;
  const key = new URLSearchParams(search).get('key');
  const keyQuery = key ? `?key=${encodeURIComponent(key)}` : '';
  if (slug === null) return { slug: null, key, socketPath: `/ws${keyQuery}`, apiPrefix: '', keyQuery };
  return { slug, key, socketPath: `/v/${slug}/ws${keyQuery}`, apiPrefix: `/v/${slug}`, keyQuery };
}

/** "4 min ago", "12 s ago", "3 h ago", "2 d ago" for the banner. */
export function heardAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}

/** The banner text while the hub is not heard; null while it is. */
export function pausedText(status: Pick<HubStatusFrame, 'up' | 'heard' | 'now'> | null, relayNowMs: number): string | null {
  if (status === null || status.up) return null;
  if (status.heard <= 0) return 'live data paused: the hub has not been heard yet';
  return `live data paused: the hub was last heard ${heardAgo(relayNowMs - status.heard)}`;
}

/** Slot flags of an uptime bitmap, oldest first (left to right in the bar). */
export function uptimeSlots(b64: string, slots = 96): boolean[] {
  let text: string;
  try {
    text = atob(b64);
  } catch {
    return [];
  }
  const out: boolean[] = [];
  for (let s = slots - 1; s >= 0; s--) out.push((((text.charCodeAt(s >> 3) || 0) >> (s & 7)) & 1) === 1);
  return out;
}

/** A CSS linear-gradient drawing the slots as hard-edged runs (one element per bar, not 96). */
export function uptimeGradient(slots: readonly boolean[], seen: string, missed: string): string {
  if (slots.length === 0) return missed;
  const stops: string[] = [];
  let start = 0;
  for (let i = 1; i <= slots.length; i++) {
    if (i < slots.length && slots[i] === slots[start]) continue;
    const colour = slots[start] ? seen : missed;
    const from = ((start / slots.length) * 100).toFixed(3);
    const to = ((i / slots.length) * 100).toFixed(3);
    stops.push(`${colour} ${from}%`, `${colour} ${to}%`);
    start = i;
  }
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

/** Share of slots seen, as a whole percentage (for the bar's accessible label). */
export function uptimePercent(slots: readonly boolean[]): number {
  if (slots.length === 0) return 0;
  return Math.round((slots.filter(Boolean).length / slots.length) * 100);
}

export interface ViewState {
  readonly info: ViewInfoFrame | null;
  readonly hub: HubStatusFrame | null;
  /** Local ms when `hub` arrived (its `now` is the relay's clock at that moment). */
  readonly hubAtLocalMs: number;
  /** The view's metrics, or null when no view info came (the hub's own dashboard: everything). */
  metrics(): ReadonlySet<LiveMetric> | null;
  uptime(id: string): string | undefined;
  apply(frame: HubStatusFrame | UptimeFrame | ViewInfoFrame, localNowMs: number): void;
  /** The relay's now, from the last `h` frame and the local clock since. */
  relayNow(localNowMs: number): number;
  subscribe(listener: (kind: 'v' | 'h' | 'up') => void): () => void;
}

export function createViewState(): ViewState {
  let info: ViewInfoFrame | null = null;
  let hub: HubStatusFrame | null = null;
  let hubAtLocalMs = 0;
  let metrics: Set<LiveMetric> | null = null;
  const uptime = new Map<string, string>();
  const listeners = new Set<(kind: 'v' | 'h' | 'up') => void>();
  return {
    get info() {
      return info;
    },
    get hub() {
      return hub;
    },
    get hubAtLocalMs() {
      return hubAtLocalMs;
    },
    metrics: () => metrics,
    uptime: (id) => uptime.get(id),
    apply(frame, localNowMs) {
      if (frame.t === 'v') {
        info = frame;
        metrics = new Set(frame.metrics.map((i) => LIVE_METRICS[i]));
      } else if (frame.t === 'h') {
        hub = frame;
        hubAtLocalMs = localNowMs;
      } else {
        for (const [id, bits] of Object.entries(frame.m)) uptime.set(id, bits);
      }
      for (const l of listeners) l(frame.t);
    },
    relayNow(localNowMs) {
      return hub === null ? localNowMs : hub.now + (localNowMs - hubAtLocalMs);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
