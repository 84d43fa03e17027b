// FleetRelay inside workerd (the Workers Vitest integration), reached the way production reaches it:
// the hub's socket and the viewers' sockets go through the Worker (worker/index.ts), reads through its
// REST routes, and the object's own SQLite storage and alarm are inspected with runInDurableObject /
// runDurableObjectAlarm. Covers ingest → one encoded delta fanned out to every viewer of the view and to
// no other view, refused hub frames, snapshots in parts, link access and key rotation (4403), revoke (4404, tombstone), the
// checkpoint (written by the alarm only, read back after an eviction), the offline sweep, the hub status
// frame, slow viewers (paused, resumed with a snapshot, 4408), abusive viewers, the per-address socket
// and handshake limits (429), and the machine list,
// recent ring and uptime bitmaps the API answers with. The project's vars are wrangler.toml's with the
// overrides in vitest.config.ts (OFFLINE_AFTER_MS, VIEWER_LAG_CLOSE_MS).
import { env, exports } from 'cloudflare:workers';
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { relayShard } from '../../durable-objects/relay-shards.ts';
import { linkKeyHash } from '../../durable-objects/view-access.ts';
import { CLOSE_TOO_SLOW, LAG_FRAME } from '../../durable-objects/viewer-lag.ts';
import { CLOSE_LINK_KEY_CHANGED, CLOSE_VIEW_REVOKED } from '../../durable-objects/fleet-relay.ts';
import { UPTIME_SLOTS, UPTIME_SLOT_MS, uptimeSlots } from '../../durable-objects/uptime-bitmaps.ts';
import type { EdgeMachineSummary } from '../../durable-objects/machine-summary.ts';
import { CARD_METRICS } from '../../proto/public-view.ts';
import { createFleetEncoder } from '../../proto/delta.ts';
import { freshSlug, machine, ORIGIN, settle, TestHub, TestViewer, upgrade, waitFor } from './relay-sockets.workers.ts';

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
/** The view's hub socket, once the relay has taken its config frame (viewers are let in from then on). */
async function hubFor(slug: string, over: Parameters<typeof TestHub.forView>[1] = {}): Promise<TestHub> {
  const before = await taken(slug);
  const hub = await TestHub.forView(slug, over);
  open.push(hub);
  await framesTaken(slug, before + 1);
  return hub;
}
async function viewerOf(path: string, options: Parameters<typeof TestViewer.open>[1] = {}): Promise<TestViewer> {
  const v = await TestViewer.open(path, options);
  open.push(v);
  return v;
}
const relayOf = (slug: string) => relayShard(env, slug, 0);
const statsOf = (slug: string) => relayOf(slug).stats();
/** Hub frames the relay has handled (accepted or refused), in the order they came. */
const taken = async (slug: string) => {
  const s = await statsOf(slug);
  return s.framesAccepted + s.framesRejected;
};
/** Waits until the relay has taken `n` hub frames in all. */
const framesTaken = (slug: string, n: number) => waitFor(`${n} hub frames taken by ${slug}`, async () => (await taken(slug)) >= n);
/** A GET through the Worker's own entry (the REST routes read from shard 0 of the view). */
const api = async (path: string) => {
  const res = await exports.default.fetch(`${ORIGIN}${path}`);
  return { status: res.status, cache: res.headers.get('Cache-Control'), body: (await res.json()) as unknown };
};

describe('ingest and fan-out', () => {
  it('turns hub frames into one encoded delta for every viewer of the view and none of another view', async () => {
    const slug = freshSlug('fan');
    const otherSlug = freshSlug('fan-other');
    const hub = await hubFor(slug, { title: 'Fan out', metrics: [0, 1] });
    const other = await hubFor(otherSlug);
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 10, memory_percent: 20 }, { lastSeen: t0 }), machine('m2', { cpu_percent: 30 }, { lastSeen: t0 })], t0);
    other.snapshot([machine('x1', { cpu_percent: 99 }, { lastSeen: t0 })], t0);
    await framesTaken(slug, 2);
    await framesTaken(otherSlug, 2);

    const a = await viewerOf(`/v/${slug}/ws`);
    const b = await viewerOf(`/v/${slug}/ws`);
    const c = await viewerOf(`/v/${otherSlug}/ws`);
    await waitFor('start frames', () => [a, b, c].every((v) => v.snapshots() === 1 && v.hub() !== undefined && v.extras.some((f) => f.t === 'up')));
    expect([...a.fleet.keys()].sort()).toEqual(['m1', 'm2']);
    expect(a.fleet.get('m1')?.values).toEqual({ cpu_percent: 10, memory_percent: 20 });
    expect(a.info()).toEqual({ t: 'v', slug, title: 'Fan out', metrics: [0, 1] });
    expect(a.hub()).toMatchObject({ t: 'h', up: true });
    expect([...c.fleet.keys()]).toEqual(['x1']);

    const t1 = t0 + 1000;
    hub.delta([machine('m1', { cpu_percent: 55, memory_percent: 20 }, { lastSeen: t1 })], t1);
    await waitFor('the delta at both viewers', () => a.fleet.get('m1')?.values.cpu_percent === 55 && b.fleet.get('m1')?.values.cpu_percent === 55);
    const deltaOf = (v: TestViewer) => v.raw.filter((f) => f.startsWith('{"t":"d"')).at(-1);
    expect(deltaOf(a)).toBe(deltaOf(b)); // encoded once, the same text to every viewer
    expect(a.fleet.get('m2')?.values.cpu_percent).toBe(30);

    // A removal reaches the viewers too; the other view heard of none of this.
    hub.delta([], t1 + 1000, ['m2']);
    await waitFor('m2 removed', () => !a.fleet.has('m2'));
    await settle();
    expect([...c.fleet.keys()]).toEqual(['x1']);
    expect(c.messages).toHaveLength(1);
    const stats = await statsOf(slug);
    expect(stats).toMatchObject({ role: 'relay', framesAccepted: 4, framesRejected: 0, hubs: 1, viewers: 2, machines: 1 });
  });

  it('refuses fleet frames before the config frame, for another view, out of step or binary, and says why', async () => {
    const slug = freshSlug('refuse');
    const hub = await TestHub.open(slug);
    open.push(hub);
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 1 })], t0);
    await waitFor('an error frame', () => hub.errors.length === 1);
    expect(hub.errors[0].error).toMatch(/send the view config frame/);

    hub.config({ t: 'c', slug: 'someone-else', title: 'X', access: 'public', keyHash: null, metrics: [0] });
    await waitFor('a second error frame', () => hub.errors.length === 2);
    expect(hub.errors[1].error).toContain(`this socket is for view "${slug}"`);

    hub.config({ t: 'c', slug, title: 'Refusals', access: 'public', keyHash: null, metrics: [0] });
    // A delta numbered by an encoder whose snapshot this relay never got (the hub's numbering after a
    // restart): the machine numbers mean nothing here, so the hub must send a snapshot.
    const elsewhere = createFleetEncoder();
    elsewhere.restart([machine('m1', { cpu_percent: 1 })], t0);
    hub.send(elsewhere.delta([['m1', 0, { 0: 5 }]], [], t0 + 1000));
    await waitFor('a resync request', () => hub.errors.length === 3);
    expect(hub.errors[2].resync).toBe(true);

    hub.ws.send(new Uint8Array([1, 2, 3]));
    hub.send('{"t":"s","not":"a fleet"}');
    await waitFor('two more errors', () => hub.errors.length === 5);
    expect(hub.errors[3].error).toMatch(/binary frames are not accepted/);
    expect(hub.errors[4].error).toMatch(/invalid fleet message/);
    const stats = await statsOf(slug);
    expect(stats).toMatchObject({ framesAccepted: 1, framesRejected: 5, machines: 0 });
    // Nothing the relay refused reached a viewer.
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the start frames', () => v.snapshots() === 1);
    expect(v.fleet.size).toBe(0);
  });
  it('applies a snapshot sent in parts after its last part, and asks for it again when a delta cuts in', async () => {
    const slug = freshSlug('parts');
    const hub = await hubFor(slug);
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the empty start', () => v.snapshots() === 1);
    const t0 = Date.now();
    const fleet = Array.from({ length: 40 }, (_, i) => machine(`m${String(i).padStart(2, '0')}`, { cpu_percent: i }, { lastSeen: t0 }));
    const parts = hub.snapshotParts(fleet, t0, 1500);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts.slice(0, -1)) hub.send(part);
    await framesTaken(slug, parts.length); // config + every part but the last
    expect((await statsOf(slug)).machines).toBe(0); // nothing applied while parts are missing
    expect(v.fleet.size).toBe(0);
    hub.send(parts.at(-1)!);
    await waitFor('the whole fleet at the viewer', () => v.fleet.size === 40);
    expect(v.fleet.get('m39')?.values.cpu_percent).toBe(39);

    // A delta between parts: the half-received snapshot is dropped, the hub is asked for a new one.
    const again = hub.snapshotParts(fleet.map((m) => ({ ...m, values: { cpu_percent: 99 } })), t0 + 1000, 1500);
    hub.send(again[0]);
    hub.delta([machine('m00', { cpu_percent: 5 }, { lastSeen: t0 + 1000 })], t0 + 1000);
    await waitFor('the resync request', () => hub.errors.length === 1);
    expect(hub.errors[0]).toMatchObject({ resync: true });
    expect(hub.errors[0].error).toMatch(/before the last part of a snapshot/);
    await settle();
    expect(v.fleet.get('m01')?.values.cpu_percent).toBe(1); // nothing of the dropped snapshot shown
  });
});

describe('view access', () => {
  it('lets only the holder of the link secret watch, and closes old-key viewers (4403) when it rotates', async () => {
    const slug = freshSlug('link');
    const hub = await hubFor(slug, { access: 'link', keyHash: await linkKeyHash('first-secret') });
    hub.snapshot([machine('m1', { cpu_percent: 7 })], Date.now());
    await framesTaken(slug, 2);

    for (const query of ['', '?key=wrong', `?key=${'x'.repeat(300)}`]) {
      const { ws, status, body } = await upgrade(`/v/${slug}/ws${query}`);
      expect(ws, query).toBeNull();
      expect(status, query).toBe(404);
      expect(JSON.parse(body)).toEqual({ error: 'no such view' });
      expect((await api(`/v/${slug}/api/snapshot${query}`)).status).toBe(404);
      expect((await api(`/v/${slug}/api/machines${query}`)).status).toBe(404);
    }
    const holder = await viewerOf(`/v/${slug}/ws?key=first-secret`);
    await waitFor('the snapshot', () => holder.fleet.get('m1')?.values.cpu_percent === 7);
    const view = await api(`/v/${slug}/api/view?key=first-secret`);
    expect(view).toEqual({ status: 200, cache: 'public, max-age=5', body: { slug, title: `View ${slug}`, metrics: [...CARD_METRICS] } });
    expect((await statsOf(slug)).viewersRefused).toBe(3);

    // A new title alone keeps the viewer; a new secret closes it.
    hub.config({ t: 'c', slug, title: 'Renamed', access: 'link', keyHash: await linkKeyHash('first-secret'), metrics: [0] });
    await waitFor('the new view info', () => holder.info()?.title === 'Renamed');
    expect(holder.closeCode).toBeNull();
    hub.config({ t: 'c', slug, title: 'Renamed', access: 'link', keyHash: await linkKeyHash('second-secret'), metrics: [0] });
    expect(await holder.closed()).toBe(CLOSE_LINK_KEY_CHANGED);
    expect((await upgrade(`/v/${slug}/ws?key=first-secret`)).status).toBe(404);
    const next = await viewerOf(`/v/${slug}/ws?key=second-secret`);
    await waitFor('the snapshot for the new key', () => next.fleet.has('m1'));
    // Made public: a viewer without a key is let in.
    hub.config({ t: 'c', slug, title: 'Renamed', access: 'public', keyHash: null, metrics: [0] });
    const anyone = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the snapshot for anyone', () => anyone.fleet.has('m1'));
  });

  it('forgets a revoked view, closes its viewers with 4404 and keeps only a tombstone until a new config', async () => {
    const slug = freshSlug('revoke');
    const hub = await hubFor(slug);
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 3 })], t0);
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the snapshot', () => v.fleet.has('m1'));
    expect(await runDurableObjectAlarm(relayOf(slug))).toBe(true); // writes the checkpoint

    hub.revoke(slug);
    expect(await v.closed()).toBe(CLOSE_VIEW_REVOKED);

    expect((await api(`/v/${slug}/api/snapshot`)).status).toBe(404);
    expect((await api(`/v/${slug}/api/view`)).status).toBe(404);
    expect((await upgrade(`/v/${slug}/ws`)).status).toBe(404);
    const stored = await runInDurableObject(relayOf(slug), (_relay, state) => ({
      state: state.storage.sql.exec('SELECT name, body FROM relay_state ORDER BY name').toArray(),
      checkpoint: state.storage.sql.exec('SELECT count(*) AS n FROM checkpoint').one().n,
      uptime: state.storage.sql.exec('SELECT count(*) AS n FROM uptime').one().n,
    }));
    expect(stored).toEqual({ state: [{ name: 'view', body: JSON.stringify({ revoked: slug }) }], checkpoint: 0, uptime: 0 });

    hub.delta([machine('m1', { cpu_percent: 4 })], t0 + 1000);
    await waitFor('the refusal', () => hub.errors.length === 1);
    expect(hub.errors[0].error).toContain(`view "${slug}" was revoked`);
    // The tombstone survives a restart of the object (evicted once its sockets are gone).
    hub.close();
    await waitFor('the hub socket gone', async () => (await statsOf(slug)).hubs === 0);
    await evictDurableObject(relayOf(slug), { webSockets: 'close' });
    expect((await statsOf(slug)).rowsRead).toBeGreaterThan(0);
    expect((await api(`/v/${slug}/api/view`)).status).toBe(404);

    const again = await hubFor(slug, { title: 'Back' });
    again.snapshot([machine('m9', { cpu_percent: 9 })], Date.now());
    await framesTaken(slug, 2);
    expect(await api(`/v/${slug}/api/view`)).toMatchObject({ status: 200, body: { title: 'Back' } });
    expect(((await api(`/v/${slug}/api/machines`)).body as EdgeMachineSummary[]).map((m) => m.id)).toEqual(['m9']);
  });

  it('answers 404 for a view nobody configured and stores nothing for it', async () => {
    const slug = freshSlug('nobody');
    expect((await upgrade(`/v/${slug}/ws`)).status).toBe(404);
    expect((await api(`/v/${slug}/api/snapshot`)).status).toBe(404);
    const tables = await runInDurableObject(relayOf(slug), (_relay, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray());
    expect(tables).toEqual([]);
  });
});

describe('storage and alarms', () => {
  it('writes nothing per push, checkpoints on the alarm only when changed, and restores after an eviction', async () => {
    const slug = freshSlug('checkpoint');
    const hub = await hubFor(slug);
    const t0 = Date.now();
    const fleet = [machine('m1', { cpu_percent: 1, memory_percent: 2 }, { lastSeen: t0 }), machine('m2', { cpu_percent: 3 }, { lastSeen: t0, labels: { rack: 'r2' } })];
    hub.snapshot(fleet, t0);
    await framesTaken(slug, 2);
    const afterConfig = (await statsOf(slug)).rowsWritten; // the config frame is stored (once)
    for (let i = 1; i <= 5; i++) hub.delta([machine('m1', { cpu_percent: 10 + i, memory_percent: 2 }, { lastSeen: t0 + i * 1000 })], t0 + i * 1000);
    await framesTaken(slug, 7);
    expect((await statsOf(slug)).rowsWritten).toBe(afterConfig);

    expect(await runDurableObjectAlarm(relayOf(slug))).toBe(true);
    const saved = await statsOf(slug);
    expect(saved.checkpoints).toBe(1);
    expect(saved.rowsWritten).toBeGreaterThan(afterConfig);
    const rows = await runInDurableObject(relayOf(slug), (_relay, state) => state.storage.sql.exec('SELECT part, parts FROM checkpoint').toArray());
    expect(rows).toEqual([{ part: 0, parts: 1 }]);
    // Nothing changed since: the next alarm writes nothing.
    await runDurableObjectAlarm(relayOf(slug));
    expect((await statsOf(slug)).rowsWritten).toBe(saved.rowsWritten);
    const before = (await api(`/v/${slug}/api/machines`)).body as EdgeMachineSummary[];

    hub.close();
    await waitFor('the hub socket gone', async () => (await statsOf(slug)).hubs === 0);
    await evictDurableObject(relayOf(slug), { webSockets: 'close' });
    const restored = await statsOf(slug);
    expect(restored.rowsRead).toBeGreaterThan(0); // a new instance, read back from SQLite
    expect(restored.checkpoints).toBe(0);
    expect(restored.machines).toBe(2);
    const after = (await api(`/v/${slug}/api/machines`)).body as EdgeMachineSummary[];
    expect(after.map((m) => [m.id, m.metrics, m.labels])).toEqual(before.map((m) => [m.id, m.metrics, m.labels]));
    expect(after.find((m) => m.id === 'm1')?.metrics.cpu_percent).toBe(15);
    expect(after.map((m) => m.uptime?.bitmap)).toEqual(before.map((m) => m.uptime?.bitmap));
    // A viewer of the restarted relay starts from the restored fleet, with the hub shown down.
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the restored snapshot', () => v.fleet.size === 2 && v.hub() !== undefined);
    expect(v.hub()?.up).toBe(false);
  });

  it('sweeps machines not heard of for OFFLINE_AFTER_MS offline on the alarm; the next update brings the status back', async () => {
    const slug = freshSlug('sweep');
    const hub = await hubFor(slug);
    const t0 = Date.now();
    hub.snapshot([machine('quiet', { cpu_percent: 1 }, { lastSeen: t0 }), machine('chatty', { cpu_percent: 2 }, { lastSeen: t0 })], t0);
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the snapshot', () => v.fleet.size === 2);
    await settle(700);
    hub.delta([machine('chatty', { cpu_percent: 3 }, { lastSeen: t0 + 700 })], t0 + 700);
    await waitFor('chatty updated', () => v.fleet.get('chatty')?.values.cpu_percent === 3);
    await settle(500); // quiet: 1.2 s silent, chatty 0.5 s (OFFLINE_AFTER_MS = 1000 in this project)
    expect(await runDurableObjectAlarm(relayOf(slug))).toBe(true);
    await waitFor('quiet shown offline', () => v.fleet.get('quiet')?.status === 'offline');
    expect(v.fleet.get('chatty')?.status).toBe('healthy');
    const listed = (await api(`/v/${slug}/api/machines`)).body as EdgeMachineSummary[];
    expect(listed.map((m) => [m.id, m.status])).toEqual([['chatty', 'healthy'], ['quiet', 'offline']]);

    hub.delta([machine('quiet', { cpu_percent: 4 }, { lastSeen: t0 + 2000 })], t0 + 2000);
    await waitFor('quiet back', () => v.fleet.get('quiet')?.status === 'healthy' && v.fleet.get('quiet')?.values.cpu_percent === 4);
  });

  it('tells viewers when the hub goes away and when it is back (h frames)', async () => {
    const slug = freshSlug('hubstatus');
    const hub = await hubFor(slug);
    hub.snapshot([machine('m1', { cpu_percent: 1 })], Date.now());
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('hub up', () => v.hub()?.up === true);
    hub.close();
    await waitFor('hub down', () => v.hub()?.up === false);
    const heard = v.hub()!.heard;
    expect(heard).toBeGreaterThan(0);
    expect(heard).toBeLessThanOrEqual(v.hub()!.now);
    await hubFor(slug);
    await waitFor('hub up again', () => v.hub()?.up === true);
    expect(v.extras.filter((f) => f.t === 'h').map((f) => (f as { up: boolean }).up)).toEqual([true, false, true]);
  });
});

describe('viewers', () => {
  it('pauses a viewer that does not acknowledge, resumes it with a fresh snapshot once it has caught up', async () => {
    const slug = freshSlug('lag');
    const hub = await hubFor(slug);
    const t0 = Date.now();
    hub.snapshot([machine('m1', { cpu_percent: 0 }, { lastSeen: t0 })], t0);
    await framesTaken(slug, 2); // so the viewers start from it and every later frame is a delta
    const slow = await viewerOf(`/v/${slug}/ws`, { acks: false });
    const fine = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the snapshots', () => slow.snapshots() === 1 && fine.snapshots() === 1);
    // VIEWER_LAG_FRAMES = 40 (wrangler.toml): the 41st unacknowledged delta pauses the viewer.
    // Pushed in bursts of 10, as a hub spaces its pushes: the acks of the viewer that reads get in between.
    const pushes = 50;
    for (let i = 1; i <= pushes; i++) {
      hub.delta([machine('m1', { cpu_percent: i }, { lastSeen: t0 + i * 1000 })], t0 + i * 1000);
      if (i % 10 === 0) await waitFor(`push ${i} at the acking viewer`, () => fine.fleet.get('m1')?.values.cpu_percent === i);
    }
    await waitFor('the lag frame', () => slow.lagFrames === 1);
    await settle();
    const deltas = slow.messages.filter((m) => m.t === 'd').length;
    expect(deltas).toBe(41);
    expect(slow.raw.at(-1)).toBe(LAG_FRAME); // nothing after it
    expect(slow.fleet.get('m1')?.values.cpu_percent).toBe(41);
    expect(fine.lagFrames).toBe(0);
    expect(await statsOf(slug)).toMatchObject({ viewersPaused: 1, viewersResumed: 0 });

    // It reads everything it was sent and says so: a fresh snapshot with the latest values.
    const chars = slow.raw.reduce((n, f) => n + f.length, 0);
    slow.send(JSON.stringify({ t: 'a', n: slow.raw.length, c: chars }));
    await waitFor('a fresh snapshot', () => slow.snapshots() === 2);
    expect(slow.fleet.get('m1')?.values.cpu_percent).toBe(pushes);
    expect(await statsOf(slug)).toMatchObject({ viewersResumed: 1 });
    hub.delta([machine('m1', { cpu_percent: 99 }, { lastSeen: t0 + 60_000 })], t0 + 60_000);
    await waitFor('deltas again', () => slow.fleet.get('m1')?.values.cpu_percent === 99);
  });

  it('closes a viewer paused longer than VIEWER_LAG_CLOSE_MS with 4408, on the next push or the alarm', async () => {
    const slug = freshSlug('lagclose');
    const hub = await hubFor(slug);
    const t0 = Date.now();
    let ts = t0;
    const push = (n: number) => {
      for (let i = 0; i < n; i++) {
        ts += 1000;
        hub.delta([machine('m1', { cpu_percent: ts % 100 }, { lastSeen: ts })], ts);
      }
    };
    hub.snapshot([machine('m1', { cpu_percent: 0 }, { lastSeen: t0 })], t0);
    await framesTaken(slug, 2);
    const first = await viewerOf(`/v/${slug}/ws`, { acks: false });
    await waitFor('the snapshot', () => first.snapshots() === 1);
    push(45);
    await waitFor('the lag frame', () => first.lagFrames === 1);
    await settle(600); // VIEWER_LAG_CLOSE_MS = 500 in this project
    push(1);
    expect(await first.closed(2000)).toBe(CLOSE_TOO_SLOW); // at once, not by the relay's own alarm (≥ 5 s away)

    // No more pushes: the alarm closes it.
    const second = await viewerOf(`/v/${slug}/ws`, { acks: false });
    await waitFor('the snapshot', () => second.snapshots() === 1);
    push(45);
    await waitFor('the lag frame', () => second.lagFrames === 1);
    await runDurableObjectAlarm(relayOf(slug));
    expect(second.closeCode).toBeNull(); // paused, not for long enough yet
    await settle(600);
    await runDurableObjectAlarm(relayOf(slug));
    expect(await second.closed()).toBe(CLOSE_TOO_SLOW);
    expect(await statsOf(slug)).toMatchObject({ viewersPaused: 2, viewersClosedSlow: 2 });
  });

  it('closes a viewer that sends more than acks: 1009 for a large frame, 1008 past its allowance', async () => {
    const slug = freshSlug('abuse');
    await hubFor(slug);
    // Each is counted once, however many frames it still sends while its close is under way.
    const big = await viewerOf(`/v/${slug}/ws`);
    for (let i = 0; i < 5; i++) big.send('x'.repeat(2000));
    expect(await big.closed()).toBe(1009);
    const chatty = await viewerOf(`/v/${slug}/ws`);
    for (let i = 0; i < 30; i++) chatty.send('hello'); // VIEWER_MESSAGES_PER_MINUTE = 30
    await settle();
    expect(chatty.closeCode).toBeNull();
    for (let i = 0; i < 40; i++) chatty.send('hello');
    expect(await chatty.closed()).toBe(1008);
    // "ping" is answered by the runtime and costs nothing.
    const pinger = await viewerOf(`/v/${slug}/ws`);
    for (let i = 0; i < 40; i++) pinger.send('ping');
    await waitFor('40 pongs', () => pinger.raw.filter((f) => f === 'pong').length === 40);
    expect(pinger.closeCode).toBeNull();
    expect(await statsOf(slug)).toMatchObject({ viewersClosedForAbuse: 2 });
  });
});

describe('viewer limits per client address', () => {
  it('holds MAX_VIEWERS_PER_IP sockets and VIEWER_CONNECTS_PER_MINUTE handshakes per address, then answers 429', async () => {
    // wrangler.toml's own limits: 256 sockets, 300 handshakes a minute per address and relay shard.
    const slug = freshSlug('limits');
    await hubFor(slug);
    const from = (ip: string) => ({ headers: { 'CF-Connecting-IP': ip } });
    const a: TestViewer[] = [];
    const started = Date.now();
    for (let i = 0; i < 256; i++) a.push(await viewerOf(`/v/${slug}/ws`, from('198.51.100.7')));
    const full = await upgrade(`/v/${slug}/ws`, { 'CF-Connecting-IP': '198.51.100.7' });
    expect(full.status).toBe(429);
    expect(full.headers.get('Retry-After')).toBe('30');
    expect(JSON.parse(full.body).error).toMatch(/too many open connections from your address \(at most 256\)/);
    await viewerOf(`/v/${slug}/ws`, from('198.51.100.8')); // other addresses are let in
    await viewerOf(`/v/${slug}/ws`, from('2001:db8:1:2::1'));
    expect((await statsOf(slug)).viewers).toBe(258);

    // 100 sockets closed: room again, but only 44 of the 300 handshakes of a minute are left (plus the
    // 5 a second the bucket refills): then 429 with Retry-After, well below the socket cap.
    for (const v of a.slice(0, 100)) v.close();
    await waitFor('100 sockets gone', async () => (await statsOf(slug)).viewers === 158);
    let opened = 0;
    let refused: Awaited<ReturnType<typeof upgrade>> | null = null;
    while (refused === null && opened < 100) {
      const attempt = await upgrade(`/v/${slug}/ws`, { 'CF-Connecting-IP': '198.51.100.7' });
      if (attempt.ws === null) refused = attempt;
      else {
        open.push({ close: () => attempt.ws?.close(1000) });
        opened++;
      }
    }
    const refill = Math.ceil(((Date.now() - started) / 1000) * (300 / 60));
    expect(opened).toBeGreaterThanOrEqual(44);
    expect(opened).toBeLessThanOrEqual(44 + refill);
    expect(refused?.status).toBe(429);
    expect(JSON.parse(refused!.body).error).toMatch(/too many connection attempts from your address \(at most 300 a minute\)/);
    expect(Number(refused!.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    for (const s of open.splice(0)) s.close();
    await waitFor('every socket closed', async () => (await statsOf(slug)).viewers === 0);
    expect((await statsOf(slug)).viewersRefused).toBe(2);
  });
});

describe('machine list, recent points, uptime', () => {
  it("answers /api/machines in the hub's shape with each machine's uptime, and /recent from the ring", async () => {
    const slug = freshSlug('summary');
    const hub = await hubFor(slug);
    const t0 = Date.now();
    hub.snapshot([machine('b-id', { cpu_percent: 1 }, { name: 'same', lastSeen: t0 }), machine('a-id', { cpu_percent: 2 }, { name: 'same', lastSeen: t0, labels: { env: 'prod' } })], t0);
    for (let i = 1; i <= 4; i++) hub.delta([machine('a-id', { cpu_percent: 2 + i }, { name: 'same', lastSeen: t0 + i * 1000, labels: { env: 'prod' } })], t0 + i * 1000);
    await framesTaken(slug, 6);

    const list = await api(`/v/${slug}/api/machines`);
    expect(list.status).toBe(200);
    expect(list.cache).toBe('public, max-age=5');
    const machines = list.body as EdgeMachineSummary[];
    expect(machines.map((m) => m.id)).toEqual(['a-id', 'b-id']); // by name, then id
    const a = machines[0];
    expect(a).toMatchObject({ id: 'a-id', name: 'same', hostname: '', status: 'healthy', labels: { env: 'prod' }, intervalMs: 1000, lastSeq: 0, lastSeen: t0 + 4000, metrics: { cpu_percent: 6 } });
    expect(a.uptime).toMatchObject({ slotMs: UPTIME_SLOT_MS, slots: UPTIME_SLOTS });
    const slots = uptimeSlots(a.uptime!.bitmap);
    expect(slots.at(-1)).toBe(true); // seen in the newest slot
    expect(slots.filter(Boolean)).toHaveLength(1);
    expect(a.uptime!.end).toBeGreaterThan(Date.now() - 1);
    expect(a.uptime!.end - Date.now()).toBeLessThanOrEqual(UPTIME_SLOT_MS);

    const recent = await api(`/v/${slug}/api/machines/a-id/recent?limit=3`);
    expect(recent.status).toBe(200);
    expect(recent.body).toEqual([
      { t: t0 + 2000, metrics: { cpu_percent: 4 } },
      { t: t0 + 3000, metrics: { cpu_percent: 5 } },
      { t: t0 + 4000, metrics: { cpu_percent: 6 } },
    ]);
    expect(((await api(`/v/${slug}/api/machines/a-id/recent`)).body as unknown[]).length).toBe(5);
    expect((await api(`/v/${slug}/api/machines/nope/recent`)).status).toBe(404);
    expect((await api(`/v/${slug}/api/machines/bad%20id/recent`)).status).toBe(400);
    expect((await api(`/v/${slug}/api/machines/a-id/recent?limit=0`)).status).toBe(400);

    // The viewer's `up` frame carries the same bitmaps.
    const v = await viewerOf(`/v/${slug}/ws`);
    await waitFor('the up frame', () => Object.keys(v.uptime()).length === 2);
    expect(v.uptime()['a-id']).toBe(a.uptime!.bitmap);
  });
});
