// What one public view publishes of a machine: the hub's MachineView projected through the view's
// definition before anything leaves the hub. Hidden fields are replaced, never passed along:
//   id     the real id only with show.id, else an opaque key `m` + 16 hex digits of
//          HMAC-SHA256(view salt, slug + "\0" + id) — stable across restarts, not guessable from names;
//   host   the hostname only with show.hostname, else "";
//   labels only with show.labels, else {}; at most PUBLISHED_LABEL_BYTES per machine (keys and values in
//          UTF-8, labels taken in key order while they fit), so a fleet of 10,000 machines with labels
//          at their limits (32 × 512 characters) cannot make a view's snapshot hundreds of megabytes;
//   name   the display name, unless it equals a hidden id or hostname (the default when no name was
//          given): then `Machine <first 6 characters of the key>`;
//   values only show.metrics, rounded with roundForView; status, interval and last-seen pass.
// Machines the view does not select are not projected at all (null). Pure: the salt is a parameter.
import { createHmac } from 'node:crypto';
import type { LiveMetric, MachineView } from '../../proto/delta.ts';
import { roundForView, viewSelects, type PublicViewDefinition } from '../../proto/public-view.ts';

/** The label bytes (UTF-8 keys + values) one machine may publish in a view. */
export const PUBLISHED_LABEL_BYTES = 512;

/** The labels a view publishes: in key order, while their keys and values fit in `budget` bytes. */
export function labelsWithin(labels: Readonly<Record<string, string>>, budget = PUBLISHED_LABEL_BYTES): Record<string, string> {
  const out: Record<string, string> = {};
  let used = 0;
  for (const key of Object.keys(labels).sort()) {
    const cost = Buffer.byteLength(key) + Buffer.byteLength(labels[key]);
    if (used + cost > budget) continue; // a smaller label further on may still fit
    used += cost;
    out[key] = labels[key];
  }
  return out;
}

/** The opaque, per-view key of a machine: `m` + 16 lowercase hex digits. */
export function opaqueMachineKey(salt: string, slug: string, id: string): string {
  return 'm' + createHmac('sha256', salt).update(`${slug}\0${id}`).digest('hex').slice(0, 16);
}

export interface ViewProjector {
  readonly view: PublicViewDefinition;
  /** Whether the view shows this machine (by its real id and labels). */
  selects(machine: MachineView): boolean;
  /** The machine as the view publishes it, or null when the view does not select it. */
  project(machine: MachineView): MachineView | null;
  /** The id the view publishes for a real machine id (the real one with show.id, else the key). */
  publishedId(id: string): string;
}

export function createViewProjector(view: PublicViewDefinition, salt: string): ViewProjector {
  const { show, precision, slug } = view;
  const keys = new Map<string, string>();
  const keyOf = (id: string) => {
    let key = keys.get(id);
    if (key === undefined) {
      key = opaqueMachineKey(salt, slug, id);
      keys.set(id, key);
    }
    return key;
  };
  const metrics: readonly LiveMetric[] = show.metrics;
  const selects = (m: MachineView) => viewSelects(view.machines, m);
  return {
    view,
    selects,
    publishedId: (id) => (show.id ? id : keyOf(id)),
    project(m) {
      if (!selects(m)) return null;
      const key = keyOf(m.id);
      const hiddenName = (!show.id && m.name === m.id) || (!show.hostname && m.name === m.host) || m.name === '';
      const values: Partial<Record<LiveMetric, number>> = {};
      for (const metric of metrics) {
        const value = m.values[metric];
        if (value !== undefined) values[metric] = roundForView(metric, value, precision);
      }
      return {
        id: show.id ? m.id : key,
        name: hiddenName ? `Machine ${key.slice(0, 6)}` : m.name,
        host: show.hostname ? m.host : '',
        status: m.status,
        labels: show.labels ? labelsWithin(m.labels) : {},
        intervalMs: m.intervalMs,
        lastSeen: m.lastSeen,
        values,
      };
    },
  };
}
