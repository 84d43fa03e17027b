// Pure parts of a public view's relay, in Node: uptime bitmaps (96 × 15 min, bounded, shifting with the
// clock), hub-silence and dead-man decisions, link-key checks, the dead-man signature (the same as the
// hub's webhooks), viewer frames within the frame limit (snapshot parts, split deltas), relay config.
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, createFleetReader, decodeFleetMessage, type MachineView } from '../../proto/delta.ts';
import { createSnapshotAssembler, decodeViewerExtra } from '../../proto/view-frames.ts';
import { FleetPicture } from '../../durable-objects/fleet-picture.ts';
import { UptimeBitmaps, UPTIME_SLOT_MS, uptimeSlots } from '../../durable-objects/uptime-bitmaps.ts';
import { deadmanAction, hubIsUp, nextWatchAtMs } from '../../durable-objects/hub-watch.ts';
import { linkKeyHash, mayWatch, presentedKeyHash, sameKeyHash } from '../../durable-objects/view-access.ts';
import { deadmanRequest, EVENT_HEADER, signBody, SIGNATURE_HEADER } from '../../durable-objects/deadman-webhook.ts';
import { signBody as hubSignBody, verifySignature } from '../../hub/alerts/notification.ts';
import { parseRelayConfig } from '../../durable-objects/relay-config.ts';
import { machine } from './edge-clients.ts';

const SLOT = UPTIME_SLOT_MS;

describe('uptime bitmaps', () => {
  it('sets one bit per slot seen, newest = bit 0 of byte 0, and shifts as slots pass', () => {
    const u = new UptimeBitmaps();
    const t0 = 1000 * SLOT;
    expect(u.mark('a', t0)).toBe(true);
    expect(u.mark('a', t0 + 10)).toBe(false); // same slot: nothing changes, nothing to write
    expect(u.bitmap('a', t0)).toBe(btoa('\x01' + '\x00'.repeat(11)));
    expect(u.mark('a', t0 + 2 * SLOT)).toBe(true); // slot t0+1 missed
    const slots = uptimeSlots(u.bitmap('a', t0 + 2 * SLOT)!);
    expect(slots).toHaveLength(96);
    expect(slots.slice(-3)).toEqual([true, false, true]); // oldest first: seen, missed, seen
    expect(slots.filter(Boolean)).toHaveLength(2);
    // a day later without a push everything has fallen off
    expect(uptimeSlots(u.bitmap('a', t0 + 98 * SLOT)!).some(Boolean)).toBe(false);
    const frame = u.snapshot(t0 + 2 * SLOT + 5);
    expect(frame.end).toBe((1000 + 3) * SLOT);
    expect(decodeViewerExtra(JSON.stringify({ t: 'up', ...frame }))).toMatchObject({ t: 'up', slotMs: SLOT });
  });
  it('is bounded by the fleet and survives a checkpoint', () => {
    const u = new UptimeBitmaps();
    for (let i = 0; i < 10; i++) u.mark(`m${i}`, 5 * SLOT);
    u.retain(new Set(['m1', 'm2']));
    expect(u.size).toBe(2);
    const saved = JSON.parse(JSON.stringify(u.snapshot(6 * SLOT)));
    const v = new UptimeBitmaps();
    expect(v.restore(saved)).toBe(true);
    expect(v.bitmap('m1', 7 * SLOT)).toBe(u.bitmap('m1', 7 * SLOT));
    expect(new UptimeBitmaps(60_000).restore(saved)).toBe(false); // another slot length: dropped
  });
});

describe('hub watch', () => {
  const options = { silentAfterMs: 1000, deadmanAfterMs: 5000 };
  it('is up only with a socket and a recent word from the hub', () => {
    expect(hubIsUp({ heardAtMs: 100, connected: true }, 500, options)).toBe(true);
    expect(hubIsUp({ heardAtMs: 100, connected: true }, 1100, options)).toBe(false);
    expect(hubIsUp({ heardAtMs: 100, connected: false }, 200, options)).toBe(false);
    expect(hubIsUp({ heardAtMs: 0, connected: true }, 200, options)).toBe(false);
  });
  it.each([
    [false, 100, 5099, null],
    [false, 100, 5100, 'fire'],
    [true, 100, 9000, null],
    [true, 9000, 9001, 'resolve'],
    [false, 0, 99_999, null], // never heard: not an outage
  ] as const)('fired=%s heard=%i now=%i → %s', (fired, heard, now, expected) => {
    expect(deadmanAction(fired, heard, now, options)).toBe(expected);
  });
  it('asks for the alarm when the next state change is due, and not at all when nothing can change', () => {
    expect(nextWatchAtMs({ heardAtMs: 100, connected: true }, false, 200, options)).toBe(1100);
    expect(nextWatchAtMs({ heardAtMs: 100, connected: false }, false, 200, options)).toBe(5100);
    expect(nextWatchAtMs({ heardAtMs: 100, connected: false }, true, 6000, options)).toBeNull();
    expect(nextWatchAtMs({ heardAtMs: 100, connected: false }, false, 200, { ...options, deadmanAfterMs: 0 })).toBeNull();
  });
});

describe('link access', () => {
  it('admits the secret whose SHA-256 is the keyHash, nothing else', async () => {
    const keyHash = await linkKeyHash('s3cret-abc');
    expect(keyHash).toMatch(/^[0-9a-f]{64}$/);
    const link = { access: 'link' as const, keyHash };
    expect(mayWatch(link, await presentedKeyHash('s3cret-abc'))).toBe(true);
    expect(mayWatch(link, await presentedKeyHash('s3cret-abd'))).toBe(false);
    expect(mayWatch(link, await presentedKeyHash(undefined))).toBe(false);
    expect(mayWatch(link, await presentedKeyHash('x'.repeat(257)))).toBe(false);
    expect(mayWatch({ access: 'public', keyHash: null }, null)).toBe(true);
    expect(mayWatch(null, null)).toBe(false);
    expect(sameKeyHash('ab', 'abc')).toBe(false);
  });
});

describe('dead-man webhook', () => {
  it('signs the raw body exactly like the hub, so one receiver verifies both', async () => {
    expect(await signBody('k', 'body')).toBe(hubSignBody('k', 'body'));
    const req = await deadmanRequest('http://127.0.0.1:1/x', 'k', { kind: 'firing', view: 'ops', heardAtMs: 1000, atMs: 301_000 }, 301_500);
    expect(verifySignature('k', req.body, req.headers[SIGNATURE_HEADER])).toBe(true);
    expect(req.headers[EVENT_HEADER]).toBe('firing');
    expect(JSON.parse(req.body)).toMatchObject({ kind: 'firing', event: 'hub_silent', view: 'ops', silent_for_s: 300 });
    const unsigned = await deadmanRequest('http://127.0.0.1:1/x', undefined, { kind: 'resolved', view: 'ops', heardAtMs: 1, atMs: 2 }, 3);
    expect(unsigned.headers[SIGNATURE_HEADER]).toBeUndefined();
  });
});

describe('viewer frames within the frame limit', () => {
  const big = (n: number): MachineView[] => Array.from({ length: n }, (_, i) => machine(`m${i}`, { cpu_percent: i % 100 }, { name: `${'n'.repeat(250)}${i}`, lastSeen: 10 }));
  it('sends a large snapshot in parts and a large first delta as several complete deltas', () => {
    const f = new FleetPicture({ maxMachines: 2000, offlineAfterMs: 1000, maxViewerFrameChars: 50_000 });
    const early = createFleetReader();
    const earlyFleet = new Map<string, MachineView>();
    early.read(decodeFleetMessage(f.snapshotFrames()[0]));
    const out = f.ingest(createFleetEncoder().restart(big(1000), 10), 0);
    expect(out.frames.length).toBeGreaterThan(5);
    for (const text of out.frames) {
      expect(text.length).toBeLessThanOrEqual(50_000);
      const frame = early.read(decodeFleetMessage(text, 2000));
      if (frame.t === 'd') for (const [id] of frame.updates) earlyFleet.set(id, f.viewOf(id)!);
    }
    expect(earlyFleet.size).toBe(1000);
    const parts = f.snapshotFrames();
    expect(parts.length).toBeGreaterThan(5);
    const assembler = createSnapshotAssembler(2000);
    let whole = null;
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(50_000);
      whole = assembler.add(p);
    }
    expect(whole?.m).toHaveLength(1000);
    expect(out.uptimeChanged).toBe(true);
    expect(f.uptime.size).toBe(1000);
  });
});

describe('relay config for views', () => {
  it('reads the hub-silence and dead-man settings, naming the variable on error', () => {
    expect(parseRelayConfig({})).toMatchObject({ hubSilentAfterMs: 60_000, deadmanAfterMs: 300_000, deadmanWebhookUrl: null, deadmanWebhookSecret: null });
    expect(parseRelayConfig({ DEADMAN_AFTER_S: '2', DEADMAN_WEBHOOK_URL: 'https://example.com/hook' })).toMatchObject({ deadmanAfterMs: 2000, deadmanWebhookUrl: 'https://example.com/hook' });
    expect(() => parseRelayConfig({ DEADMAN_WEBHOOK_URL: 'ftp://x' })).toThrow(/DEADMAN_WEBHOOK_URL/);
    expect(() => parseRelayConfig({ DEADMAN_AFTER_S: '0' })).toThrow(/DEADMAN_AFTER_S/);
    expect(() => parseRelayConfig({ HUB_SILENT_AFTER_MS: 'x' })).toThrow(/HUB_SILENT_AFTER_MS/);
  });
});
