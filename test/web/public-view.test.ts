// The dashboard's public-view helpers: where a view page points its socket and API, the paused banner's
// words, uptime bars from the relay's bitmaps, and the state the `v`/`h`/`up` frames build.
import { describe, expect, it } from 'vitest';
import { createViewState, heardAgo, pausedText, uptimeGradient, uptimePercent, uptimeSlots, viewLocation } from '../../web/src/public-view.ts';
import { UptimeBitmaps, UPTIME_SLOT_MS } from '../../durable-objects/uptime-bitmaps.ts';

describe('view location', () => {
  it.each([
    ['/v/ops', '?key=abc%2Bd', { slug: 'ops', key: 'abc+d', socketPath: '/v/ops/ws?key=abc%2Bd', apiPrefix: '/v/ops' }],
    ['/v/ops/', '', { slug: 'ops', key: null, socketPath: '/v/ops/ws', apiPrefix: '/v/ops' }],
    ['/', '', { slug: null, socketPath: '/ws', apiPrefix: '' }],
    ['/v/Bad_Slug', '', { slug: null, socketPath: '/ws' }],
  ])('%s%s', (path, search, expected) => {
    expect(viewLocation(path, search)).toMatchObject(expected);
  });
});

describe('paused banner', () => {
  it('says how long ago the hub was heard, and nothing while it is up', () => {
    expect(pausedText({ up: false, heard: 1_000, now: 0 }, 241_000)).toBe('live data paused: the hub was last heard 4 min ago');
    expect(pausedText({ up: false, heard: 0, now: 0 }, 5)).toBe('live data paused: the hub has not been heard yet');
    expect(pausedText({ up: true, heard: 1, now: 2 }, 3)).toBeNull();
    expect(pausedText(null, 3)).toBeNull();
    expect([heardAgo(12_000), heardAgo(3 * 3600_000), heardAgo(3 * 86_400_000)]).toEqual(['12 s ago', '3 h ago', '3 d ago']);
  });
});

describe('uptime bars', () => {
  it("reads the relay's bitmaps oldest first and draws runs", () => {
    const u = new UptimeBitmaps();
    const t = 500 * UPTIME_SLOT_MS;
    u.mark('a', t - 2 * UPTIME_SLOT_MS);
    u.mark('a', t);
    const slots = uptimeSlots(u.bitmap('a', t)!);
    expect(slots).toHaveLength(96);
    expect(slots.slice(-3)).toEqual([true, false, true]);
    expect(uptimePercent(slots)).toBe(2);
    const g = uptimeGradient([true, true, false, true], 'G', 'R');
    expect(g).toBe('linear-gradient(to right, G 0.000%, G 50.000%, R 50.000%, R 75.000%, G 75.000%, G 100.000%)');
    expect(uptimeSlots('!!not base64')).toEqual([]);
  });
  it('merges up frames and keeps the view metrics', () => {
    const s = createViewState();
    const seen: string[] = [];
    s.subscribe((k) => seen.push(k));
    s.apply({ t: 'v', slug: 'x', title: 'X', metrics: [0, 3] }, 0);
    s.apply({ t: 'up', slotMs: 900_000, end: 1, m: { a: 'AQ==' } }, 0);
    s.apply({ t: 'up', slotMs: 900_000, end: 1, m: { b: 'Ag==' } }, 0);
    s.apply({ t: 'h', up: false, heard: 10, now: 1_000 }, 50);
    expect([...s.metrics()!]).toEqual(['cpu_percent', 'load_avg_1m']);
    expect([s.uptime('a'), s.uptime('b')]).toEqual(['AQ==', 'Ag==']);
    expect(s.relayNow(150)).toBe(1_100);
    expect(seen).toEqual(['v', 'up', 'up', 'h']);
  });
});
