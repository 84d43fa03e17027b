// Public views at the real edge (`wrangler dev`: Worker + one FleetRelay per view in workerd), with a raw
// WebSocket client playing the hub exactly per the contract (proto/view-frames.ts): config frame first,
// snapshots (in parts when large), deltas, revoke. Two views stay isolated; link access is refused
// without or with a wrong secret and cut off after rotation; revocation disconnects viewers and 404s
// after; 10,000 machines with maximal ids and names reach a view through parts; the hub-status frame
// goes down and up with short thresholds; the dead-man webhook fires once and resolves once, signed;
// /v/{slug}/api/machines is cacheable; and nothing reaches a viewer that the hub did not send.
import { readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_METRICS, type MachineView } from '../../proto/delta.ts';
import { linkKeyHash } from '../../durable-objects/view-access.ts';
import { SIGNATURE_HEADER, verifySignature } from '../../hub/alerts/notification.ts';
import { handshakeStatus, machine, relayStats, TestHub, TestViewer, waitFor } from './edge-clients.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const WEBHOOK_SECRET = 'deadman-test-secret-0123456789';
const MAX_INGEST = 1_048_576;
let dev: WranglerDev;
let receiver: Server;
const hooks: Array<{ event: string; body: Record<string, unknown>; verified: boolean }> = [];
const open: { close(): unknown }[] = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve(text));
  });
}

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const body = await readBody(req);
    hooks.push({
      event: String(req.headers['x-sysmonstm-event']),
      body: JSON.parse(body) as Record<string, unknown>,
      verified: verifySignature(WEBHOOK_SECRET, body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined),
    });
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/deadman`;
  dev = await startWranglerDev({
    vars: {
      HUB_SILENT_AFTER_MS: '1500',
      DEADMAN_AFTER_S: '3',
      DEADMAN_WEBHOOK_URL: hookUrl,
      DEADMAN_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CHECKPOINT_INTERVAL_MS: '400',
      MAX_INGEST_FRAME_BYTES: String(MAX_INGEST),
    },
  });
});
afterAll(async () => {
  for (const c of open) c.close();
  await dev?.stop();
  await new Promise((r) => receiver?.close(r));
});

async function hubFor(slug: string, over: Parameters<typeof TestHub.forView>[3] = {}): Promise<TestHub> {
  const h = await TestHub.forView(dev.ingestUrl, dev.hubToken, slug, over);
  open.push(h);
  return h;
}
async function viewerOf(path: string): Promise<TestViewer> {
  const v = await TestViewer.open(`ws://127.0.0.1:${dev.port}${path}`);
  open.push(v);
  return v;
}
const statsOf = async (slug: string) => (await relayStats(dev.url, dev.hubToken, [slug]))[0];
/** A view's machine as the hub projects it: hidden hostname and labels are empty. */
const projected = (id: string, values: MachineView['values'], over: Partial<MachineView> = {}) => machine(id, values, { host: '', labels: {}, ...over });

describe('public views at the edge', () => {
  it('keeps two views apart: each viewer gets only its own view, title and metrics', async () => {
    const a = await hubFor('team-a', { title: 'Team A', metrics: [0, 1] });
    const b = await hubFor('team-b', { title: 'Team B', metrics: [0] });
    const ts = Date.now();
    a.sendSnapshot([projected('a-1', { cpu_percent: 11, memory_percent: 40 }, { lastSeen: ts })], ts);
    b.sendSnapshot([projected('mb3f2a91c0d4e5f67', { cpu_percent: 22 }, { name: 'Machine mb3f2a', lastSeen: ts })], ts);
    await waitFor('both views hold their machine', async () => (await statsOf('team-a')).machines === 1 && (await statsOf('team-b')).machines === 1);
    const va = await viewerOf('/v/team-a/ws');
    const vb = await viewerOf('/v/team-b/ws');
    await waitFor('both viewers got their snapshot and view info', () => va.info() && vb.info() && va.fleet.size === 1 && vb.fleet.size === 1);
    expect([...va.fleet.keys()]).toEqual(['a-1']);
    expect([...vb.fleet.keys()]).toEqual(['mb3f2a91c0d4e5f67']);
    expect(va.info()).toEqual({ t: 'v', slug: 'team-a', title: 'Team A', metrics: [0, 1] });
    expect(vb.info()).toMatchObject({ title: 'Team B', metrics: [0] });
    a.sendDelta([['a-1', 0, { 0: 12 }]], [], Date.now());
    await waitFor('the delta at team-a', () => va.value('a-1', 'cpu_percent') === 12);
    await new Promise((r) => setTimeout(r, 200));
    expect(vb.raw.join('\n')).not.toContain('a-1');
    expect(va.raw.join('\n')).not.toContain('mb3f2a');
    // separate objects, one per view
    const stats = await relayStats(dev.url, dev.hubToken, ['team-a', 'team-b']);
    expect(stats.map((s) => s.name)).toEqual(['view:team-a:0', 'view:team-b:0']);
    // unknown and malformed slugs are 404 JSON, on every route
    for (const path of ['/v/nobody/api/machines', '/v/nobody/api/view', '/v/NOT_A_SLUG/api/machines', '/v/nobody/api/snapshot']) {
      const res = await fetch(`${dev.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: 'no such view' });
    }
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/nobody/ws`)).toBe(404);
    // asking for views that do not exist leaves no table behind (workerd opens an empty database file
    // for every object it runs; the relay creates its tables only with the first config frame)
    const before = new Set(Object.keys(sqliteFiles(dev.persistDir)));
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${dev.url}/v/probe-${i}/api/machines`)).status).toBe(404);
      expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/probe-${i}/ws`)).toBe(404);
    }
    const probed = Object.entries(sqliteFiles(dev.persistDir)).filter(([file]) => !before.has(file) && file.includes('FleetRelay'));
    expect(probed.length).toBeGreaterThan(0);
    for (const [, tables] of probed) expect(tables).toEqual([]);
    expect(Object.values(sqliteFiles(dev.persistDir)).some((t) => t.includes('relay_state'))).toBe(true); // the real views have theirs
    // the page itself is the dashboard
    const page = await fetch(`${dev.url}/v/team-a`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('serves /v/{slug}/api/machines from the snapshot, cacheable, with uptime bitmaps and only what the hub sent', async () => {
    const res = await fetch(`${dev.url}/v/team-a/api/machines`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=5');
    const body = (await res.json()) as Array<{ id: string; hostname: string; labels: object; metrics: Record<string, number>; uptime: { slotMs: number; slots: number; bitmap: string } }>;
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ id: 'a-1', hostname: '', labels: {}, metrics: { cpu_percent: 12, memory_percent: 40 } });
    expect(Object.keys(body[0].metrics).sort()).toEqual(['cpu_percent', 'memory_percent']);
    expect(body[0].uptime).toMatchObject({ slotMs: 900_000, slots: 96 });
    expect(atob(body[0].uptime.bitmap).charCodeAt(0) & 1).toBe(1); // seen in the current slot
    const view = await fetch(`${dev.url}/v/team-a/api/view`);
    expect(await view.json()).toEqual({ slug: 'team-a', title: 'Team A', metrics: ['cpu_percent', 'memory_percent'] });
    const recent = await fetch(`${dev.url}/v/team-a/api/machines/a-1/recent`);
    expect(recent.status).toBe(200);
    expect(((await recent.json()) as unknown[]).length).toBeGreaterThan(0);
  });

  it('refuses link viewers without or with a wrong secret (404, as for no view), admits the secret, and cuts old keys off on rotation', async () => {
    const secret1 = 'k1-3q9v8f0Zl2Jx7PzQmN4sTw';
    const secret2 = 'k2-Hh5gT1uYb8Rr0eWq6LcA3x';
    const h = await hubFor('private', { access: 'link', keyHash: await linkKeyHash(secret1) });
    h.sendSnapshot([projected('p-1', { cpu_percent: 5 })], Date.now());
    await waitFor('the machine at the relay', async () => (await statsOf('private')).machines === 1);
    const ws = (q: string) => `ws://127.0.0.1:${dev.port}/v/private/ws${q}`;
    expect(await handshakeStatus(ws(''))).toBe(404);
    expect(await handshakeStatus(ws('?key=wrong'))).toBe(404);
    expect(await handshakeStatus(ws(`?key=${secret1}x`))).toBe(404);
    expect((await fetch(`${dev.url}/v/private/api/machines`)).status).toBe(404);
    expect((await fetch(`${dev.url}/v/private/api/machines?key=wrong`)).status).toBe(404);
    expect((await fetch(`${dev.url}/v/private/api/machines?key=${secret1}`)).status).toBe(200);
    const old = await viewerOf(`/v/private/ws?key=${secret1}`);
    await waitFor('the old-key viewer is served', () => old.fleet.size === 1);

    h.sendConfig({ t: 'c', slug: 'private', title: 'View private', access: 'link', keyHash: await linkKeyHash(secret2), metrics: [0] });
    const rotatedAt = Date.now();
    await waitFor('the old-key viewer closed', () => old.closed(), 5_000);
    expect(Date.now() - rotatedAt).toBeLessThan(3_000);
    expect(old.closeCode).toBe(4403);
    expect(await handshakeStatus(ws(`?key=${secret1}`))).toBe(404);
    const fresh = await viewerOf(`/v/private/ws?key=${secret2}`);
    await waitFor('the new-key viewer is served', () => fresh.fleet.size === 1);
    // the same config again is not a change: nobody is closed, nothing is written (once the checkpoint
    // of the snapshot is behind us)
    await waitFor('the snapshot checkpointed', async () => (await statsOf('private')).checkpoints > 0);
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await statsOf('private');
    h.sendConfig({ t: 'c', slug: 'private', title: 'View private', access: 'link', keyHash: await linkKeyHash(secret2), metrics: [0] });
    await waitFor('the repeated config taken', async () => (await statsOf('private')).framesAccepted > before.framesAccepted);
    expect(fresh.closed()).toBe(false);
    expect((await statsOf('private')).rowsWritten).toBe(before.rowsWritten);
  });

  it('revokes a view: its viewers are closed with 4404, every route answers 404 after, fleet frames are refused', async () => {
    const h = await hubFor('doomed');
    h.sendSnapshot([projected('d-1', { cpu_percent: 9 })], Date.now());
    await waitFor('the machine at the relay', async () => (await statsOf('doomed')).machines === 1);
    const v = await viewerOf('/v/doomed/ws');
    await waitFor('served', () => v.fleet.size === 1);
    h.sendRevoke('doomed');
    await waitFor('the viewer closed', () => v.closed(), 5_000);
    expect(v.closeCode).toBe(4404);
    expect(v.closeReason).toBe('view revoked');
    expect((await fetch(`${dev.url}/v/doomed/api/machines`)).status).toBe(404);
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/doomed/ws`)).toBe(404);
    const replies = h.replies.length;
    h.sendDelta([['d-1', 0, { 0: 1 }]], [], Date.now());
    expect(JSON.parse(await waitFor('the refusal', () => h.replies[replies])).error).toMatch(/view "doomed" was revoked/);
    // a new hub socket with the stale view but without a config frame cannot bring it back
    const stale = await TestHub.open(`${dev.ingestUrl}?view=doomed`, dev.hubToken);
    open.push(stale);
    stale.sendSnapshot([projected('d-1', { cpu_percent: 9 })], Date.now());
    expect(JSON.parse(await waitFor('refused', () => stale.replies[0])).error).toMatch(/config frame/);
    expect((await statsOf('doomed')).machines).toBe(0);
  });

  it('gets 10,000 machines with maximal ids and names to a view in parts, both legs', async () => {
    const ts = Date.now();
    const fleet = Array.from({ length: 10_000 }, (_, i) => {
      const id = `${String(i).padStart(5, '0')}-${'i'.repeat(122)}`;
      return projected(id, { cpu_percent: i % 100, memory_percent: 50 }, { name: `${String(i).padStart(5, '0')} ${'N'.repeat(250)}`, lastSeen: ts });
    });
    const h = await hubFor('big', { metrics: [0, 1] });
    await waitFor('the view configured', async () => (await statsOf('big')).framesAccepted === 1);
    const early = await viewerOf('/v/big/ws'); // there before the snapshot: gets it as several deltas
    await waitFor('the empty snapshot', () => early.messages.length === 1);
    // one frame above MAX_INGEST_FRAME_BYTES is refused with a clear error, not taken
    h.sendSnapshot(fleet, ts);
    expect(JSON.parse(await waitFor('refused', () => h.replies[0], 20_000)).error).toMatch(/exceeds MAX_INGEST_FRAME_BYTES .*send the snapshot in parts/);
    const parts = h.sendSnapshotParts(fleet, ts, 1_000_000);
    expect(parts).toBeGreaterThan(3);
    await waitFor('10,000 machines at the relay', async () => (await statsOf('big')).machines === 10_000, 60_000);
    await waitFor('10,000 machines at the early viewer', () => early.fleet.size === 10_000, 60_000);
    expect(early.raw.every((f) => f.length <= 1_000_000)).toBe(true);
    const late = await viewerOf('/v/big/ws');
    await waitFor('10,000 machines at a new viewer', () => late.fleet.size === 10_000, 60_000);
    expect(late.snapshotParts).toBeGreaterThan(3);
    expect(late.raw.every((f) => f.length <= 1_000_000)).toBe(true);
    expect(late.fleet.get(fleet[9_999].id)?.name).toBe(fleet[9_999].name);
    await waitFor('uptime of every machine', () => Object.keys(late.uptime()).length === 10_000, 20_000);
    expect(h.replies).toHaveLength(1); // nothing but the one refusal
  }, 180_000);

  it('tells viewers when the hub goes silent and when it is back', async () => {
    const h = await hubFor('pause');
    h.sendSnapshot([projected('z-1', { cpu_percent: 1 })], Date.now());
    await waitFor('the machine at the relay', async () => (await statsOf('pause')).machines === 1);
    const v = await viewerOf('/v/pause/ws');
    await waitFor('hub up', () => v.hub()?.up === true);
    const down = await waitFor('hub down after HUB_SILENT_AFTER_MS of nothing', () => (v.hub()?.up === false ? v.hub() : undefined), 10_000);
    expect(down.now - down.heard).toBeGreaterThanOrEqual(1_500); // relay clock: silent at least that long
    expect(down.heard).toBeGreaterThan(0);
    const late = await viewerOf('/v/pause/ws');
    await waitFor('a new viewer is told at once', () => late.hub()?.up === false);
    h.sendDelta([['z-1', 0, { 0: 2 }]], [], Date.now());
    await waitFor('hub up again', () => v.hub()?.up === true && late.hub()?.up === true, 5_000);
    // pings alone (answered by the runtime without waking the relay) keep the hub heard
    const pings = setInterval(() => h.ws.send('ping'), 400);
    try {
      await new Promise((r) => setTimeout(r, 3_500)); // > HUB_SILENT_AFTER_MS, no frame at all
      expect(v.hub()?.up).toBe(true);
    } finally {
      clearInterval(pings);
    }
    await waitFor('hub down once the pings stop too', () => v.hub()?.up === false, 10_000);
    h.sendDelta([['z-1', 0, { 0: 3 }]], [], Date.now());
    await waitFor('hub up after a frame', () => v.hub()?.up === true, 5_000);
    // the socket closing counts as gone at once
    await h.close();
    await waitFor('hub down on close', () => v.hub()?.up === false, 5_000);
  });

  it('calls the dead-man webhook once when the hub has been silent for DEADMAN_AFTER_S and once when it is back, signed', async () => {
    const h = await hubFor('deadman');
    h.sendSnapshot([projected('q-1', { cpu_percent: 1 })], Date.now());
    const mine = () => hooks.filter((x) => x.body.view === 'deadman');
    await waitFor('the firing notice', () => mine().length === 1, 15_000);
    expect(mine()[0]).toMatchObject({ event: 'firing', verified: true, body: { kind: 'firing', event: 'hub_silent', view: 'deadman' } });
    expect(mine()[0].body.silent_for_s).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 2_500)); // still silent: no second notice
    expect(mine()).toHaveLength(1);
    h.sendDelta([['q-1', 0, { 0: 2 }]], [], Date.now());
    await waitFor('the resolved notice', () => mine().length === 2, 20_000);
    expect(mine()[1]).toMatchObject({ event: 'resolved', verified: true, body: { kind: 'resolved', view: 'deadman' } });
    // keep the hub talking past the threshold: nothing more
    const chatter = setInterval(() => h.sendDelta([['q-1', 0, { 0: 3 }]], [], Date.now()), 500);
    await new Promise((r) => setTimeout(r, 4_000));
    clearInterval(chatter);
    expect(mine()).toHaveLength(2);
  }, 40_000);

  it('sends viewers nothing the hub did not send: every key and string of every frame is accounted for', async () => {
    const h = await hubFor('bytes', { title: 'Bytes', metrics: [0] });
    const ts = Date.now();
    const sentMachine = projected('mbeefbeefbeefbeef', { cpu_percent: 33 }, { name: 'Machine mbeefb', lastSeen: ts });
    h.sendSnapshot([sentMachine], ts);
    await waitFor('the machine at the relay', async () => (await statsOf('bytes')).machines === 1);
    const v = await viewerOf('/v/bytes/ws');
    await waitFor('served', () => v.fleet.size === 1 && v.hub() && v.info());
    h.sendDelta([['mbeefbeefbeefbeef', 0, { 0: 34 }]], [], Date.now());
    await waitFor('delta', () => v.value('mbeefbeefbeefbeef', 'cpu_percent') === 34);
    const sentStrings = new Set<string>();
    for (const frame of h.sent) collect(JSON.parse(frame), new Set(), sentStrings);
    const keys = new Set<string>();
    const strings = new Set<string>();
    for (const frame of v.raw) if (frame !== 'pong') collect(JSON.parse(frame), keys, strings);
    const WIRE_KEYS = ['t', 'ts', 'm', 'k', 'id', 'n', 'h', 's', 'l', 'i', 'seen', 'v', 'a', 'u', 'r', 'p', 'slug', 'title', 'metrics', 'up', 'heard', 'now', 'slotMs', 'end'];
    for (const key of keys) expect(WIRE_KEYS.includes(key) || /^\d+$/.test(key) || key === sentMachine.id, `key ${key}`).toBe(true);
    const FRAME_TYPES = ['s', 'd', 'v', 'h', 'up'];
    for (const s of strings) {
      const ok = sentStrings.has(s) || FRAME_TYPES.includes(s) || /^[A-Za-z0-9+/]{16}$/.test(s); // base64 uptime bitmap
      expect(ok, `string ${JSON.stringify(s)}`).toBe(true);
    }
    expect(v.info()?.metrics).toEqual([0]);
    expect(Object.keys(v.fleet.get(sentMachine.id)!.values)).toEqual([LIVE_METRICS[0]]);
  });
});

/** The Durable Object SQLite files under a `wrangler dev` state dir, with the tables of each (the
 *  runtime's and miniflare's own left out). */
function sqliteFiles(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/^[0-9a-f]{64}\.sqlite$/.test(entry.name) && statSync(p).size > 0) {
        const db = new DatabaseSync(p, { readOnly: true });
        try {
          const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
          out[path.relative(dir, p)] = rows.map((r) => r.name).filter((n) => !/^(_cf_|sqlite_|__miniflare)/.test(n)).sort();
        } finally {
          db.close();
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** Every object key and every string value in `value`, recursively. */
function collect(value: unknown, keys: Set<string>, strings: Set<string>): void {
  if (typeof value === 'string') strings.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, keys, strings);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      keys.add(k);
      collect(v, keys, strings);
    }
  }
}
