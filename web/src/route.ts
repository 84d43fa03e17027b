// The dashboard's places: the fleet, one machine, and (on the hub) the public views. A machine is
// addressed as `#/machine/<id>` (works on any static host) or `/machines/<id>` (the hub serves
// index.html there), optionally with the chart range, `?range=24h`, so a link shows what its sender
// saw. Pure.

import { MACHINE_ID_PATTERN } from '../../proto/machine-id.ts';

export type Route = { view: 'fleet' } | { view: 'machine'; id: string; range?: string } | { view: 'views' };

const RANGE = /^[a-z0-9]{1,8}$/;

function rangeOf(query: string | undefined): { range?: string } {
  const r = query ? new URLSearchParams(query).get('range') : null;
  return r !== null && RANGE.test(r) ? { range: r } : {};
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parseRoute(pathname: string, hash: string): Route {
  if (hash.startsWith('#/')) {
    if (/^#\/views\/?$/.test(hash)) return { view: 'views' };
    const m = /^#\/machine\/([^/?#]+)\/?(?:\?([^#]*))?$/.exec(hash);
    const id = m ? decode(m[1]) : null;
    return id !== null && MACHINE_ID_PATTERN.test(id) ? { view: 'machine', id, ...rangeOf(m![2]) } : { view: 'fleet' };
  }
  const m = /^\/machines\/([^/]+)\/?$/.exec(pathname);
  const id = m ? decode(m[1]) : null;
  return id !== null && MACHINE_ID_PATTERN.test(id) ? { view: 'machine', id } : { view: 'fleet' };
}

let routeBase = '/';

/** On a public view's page (/v/{slug}?key=…) links stay on that page: they become bare hashes. */
export function setRouteBase(base: '/' | 'here'): void {
  routeBase = base === 'here' ? '' : '/';
  FLEET_HREF = `${routeBase}#/`;
}

/**
 * Link to a machine (and a chart range); stays a same-document hash change when the page is at "/"
 * (or on a view's page).
 */
export function machineHref(id: string, range?: string): string {
  return `${routeBase}#/machine/${encodeURIComponent(id)}${range ? `?range=${encodeURIComponent(range)}` : ''}`;
}

/** Link back to the fleet (a live binding: setRouteBase changes it). */
export let FLEET_HREF = '/#/';

/** The hub's public-views page. */
export const VIEWS_HREF = '/#/views';
