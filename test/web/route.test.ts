import { describe, expect, it } from 'vitest';
import { machineHref, parseRoute } from '../../web/src/route.ts';

describe('parseRoute', () => {
  it.each([
    ['/', '', { view: 'fleet' }],
    ['/', '#/', { view: 'fleet' }],
    ['/', '#/machine/web-1', { view: 'machine', id: 'web-1' }],
    ['/', '#/machine/web-1/', { view: 'machine', id: 'web-1' }],
    ['/', '#/machine/a.b_c-9', { view: 'machine', id: 'a.b_c-9' }],
    ['/machines/db-1', '', { view: 'machine', id: 'db-1' }],
    ['/machines/db-1/', '', { view: 'machine', id: 'db-1' }],
    // The hash wins: going back to the fleet from a /machines/<id> page.
    ['/machines/db-1', '#/', { view: 'fleet' }],
    ['/', '#/machine/%3Cimg%3E', { view: 'fleet' }],
    ['/', '#/machine/%E0%A4%A', { view: 'fleet' }],
    ['/machines/../etc', '', { view: 'fleet' }],
    ['/', '#main', { view: 'fleet' }],
    ['/', `#/machine/${'x'.repeat(129)}`, { view: 'fleet' }],
    // The chart range travels in the link.
    ['/', '#/machine/web-1?range=24h', { view: 'machine', id: 'web-1', range: '24h' }],
    ['/', '#/machine/web-1/?range=7d&x=1', { view: 'machine', id: 'web-1', range: '7d' }],
    ['/', '#/machine/web-1?range=<b>', { view: 'machine', id: 'web-1' }],
    ['/', '#/machine/web-1?', { view: 'machine', id: 'web-1' }],
    ['/', '#/views', { view: 'views' }],
    ['/', '#/views/', { view: 'views' }],
    ['/', '#/viewsx', { view: 'fleet' }],
  ])('%s %s', (pathname, hash, expected) => {
    expect(parseRoute(pathname, hash)).toEqual(expected);
  });

  it('links round-trip', () => {
    const href = machineHref('node-7.lan');
    const url = new URL(href, 'http://h');
    expect(parseRoute(url.pathname, url.hash)).toEqual({ view: 'machine', id: 'node-7.lan' });
    const ranged = new URL(machineHref('node-7.lan', '30d'), 'http://h');
    expect(parseRoute(ranged.pathname, ranged.hash)).toEqual({ view: 'machine', id: 'node-7.lan', range: '30d' });
  });
});
