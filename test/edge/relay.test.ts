// The edge relay running for real in workerd (`wrangler dev`), serving the view "default" at /ws: hub
// auth at the Worker, the config frame first on every hub socket, snapshot then deltas to viewers,
// read-only viewers, frame validation and caps, the offline sweep alarm, restore from SQLite (config and
// snapshot) after a process restart.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetEncoder } from '../../proto/delta.ts';
import { tempDir } from '../support/servers.ts';
import { handshakeStatus, machine, relayStats, TestHub, TestViewer, waitFor } from './edge-clients.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const VARS = { OFFLINE_AFTER_MS: '1500', CHECKPOINT_INTERVAL_MS: '300', MAX_MACHINES: '50' };
const state = tempDir('edge-state');
const persistDir = path.join(state.path, 'persist');
let dev: WranglerDev;
const open: { close(): unknown }[] = [];

async function viewer(): Promise<TestViewer> {
  const v = await TestViewer.open(dev.viewerUrl);
  open.push(v);
  return v;
}
async function hub(): Promise<TestHub> {
  const h = await TestHub.forView(dev.ingestUrl, dev.hubToken, 'default');
  open.push(h);
  return h;
}
const relay0 = async () => (await relayStats(dev.url, dev.hubToken))[0];

beforeAll(async () => {
  dev = await startWranglerDev({ vars: VARS, persistDir });
  // The view exists once its hub socket has sent the config frame.
  const h = await hub();
  await waitFor('the config frame taken', async () => (await relay0()).framesAccepted >= 1);
  expect(h.replies).toEqual([]);
});
afterAll(async () => {
  for (const c of open) c.close();
  await dev?.stop();
  state.remove();
});

describe('edge relay in workerd', () => {
  it('rejects /ingest without a token and with a wrong one, before any Durable Object is reached', async () => {
    const before = await relay0();
    expect(await handshakeStatus(dev.ingestUrl)).toBe(401);
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: 'Bearer wrong-token' })).toBe(401);
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: `Bearer ${dev.hubToken}x` })).toBe(401);
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: dev.hubToken })).toBe(401); // not a Bearer header
    // The original read the key from the query string: that is not accepted either.
    expect(await handshakeStatus(`${dev.ingestUrl}?key=${dev.hubToken}`)).toBe(401);
    const plain = await fetch(`${dev.url}/ingest`, { headers: { Authorization: 'Bearer nope' } });
    expect(plain.status).toBe(401);
    expect(plain.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await plain.json()).toEqual({ error: 'invalid hub token' });
    expect((await fetch(`${dev.url}/api/relay-stats`)).status).toBe(401);
    const after = await relay0();
    expect(after.fetches).toBe(before.fetches);
    expect(after.hubConnects).toBe(before.hubConnects);
    expect(after.hubFramesIn).toBe(before.hubFramesIn);
    // the right token opens the socket
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: `Bearer ${dev.hubToken}` })).toBe(101);
    expect((await relay0()).hubConnects).toBe(before.hubConnects + 1);
  });

  it('serves pages with a Content-Security-Policy and API answers the hub shape', async () => {
    const page = await fetch(`${dev.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ws://127.0.0.1:${dev.port}`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<!doctype html>');
    expect((await fetch(`${dev.url}/api/info`)).headers.get('content-type')).toContain('application/json');
    expect((await fetch(`${dev.url}/ws`)).status).toBe(426);
  });

  it('answers /ready with JSON readiness (the relay answers), not the dashboard page', async () => {
    const res = await fetch(`${dev.url}/ready`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ status: 'ready', mode: 'edge', checks: { relay: true } });
    // An unknown page is still the dashboard (single-page application), so the JSON above is /ready's own.
    expect(await (await fetch(`${dev.url}/no-such-page`)).text()).toContain('<!doctype html>');
  });

  it('refuses fleet frames on a hub socket that did not begin with the view config frame, with a clear error', async () => {
    const bare = await TestHub.open(dev.ingestUrl, dev.hubToken);
    open.push(bare);
    bare.sendSnapshot([machine('sneaky', { cpu_percent: 1 })], Date.now());
    const reply = JSON.parse(await waitFor('the refusal', () => bare.replies[0])) as { t: string; error: string };
    expect(reply.t).toBe('e');
    expect(reply.error).toMatch(/send the view config frame \{"t":"c",\.\.\.\} first/);
    // a config frame for another view than the socket was opened for is refused too
    bare.sendConfig({ t: 'c', slug: 'other', title: 'x', access: 'public', keyHash: null, metrics: [0] });
    expect(JSON.parse(await waitFor('the second refusal', () => bare.replies[1])).error).toMatch(/this socket is for view "default"/);
    expect((await relay0()).machines).toBe(0);
  });

  it('gives a new viewer the snapshot first, then deltas; viewers connected earlier get a delta', async () => {
    const early = await viewer();
    await waitFor('empty snapshot for the early viewer', () => early.messages.length > 0);
    expect(early.messages[0].t).toBe('s');

    const h = await hub();
    const ts = Date.now();
    h.sendSnapshot([machine('alpha', { cpu_percent: 10 }, { lastSeen: ts }), machine('beta', { cpu_percent: 20, memory_percent: 30 }, { lastSeen: ts })], ts);
    await waitFor('alpha at the early viewer', () => early.fleet.get('alpha'));
    expect(early.messages[1].t).toBe('d');

    const late = await viewer();
    await waitFor('late snapshot', () => late.messages.length > 0);
    const first = late.messages[0];
    expect(first.t).toBe('s');
    if (first.t === 's') expect(first.machines.map((m) => m.id).sort()).toEqual(['alpha', 'beta']);
    expect(late.value('beta', 'memory_percent')).toBe(30);

    h.sendDelta([['alpha', 0, { 0: 55.5 }]], [], Date.now());
    await waitFor('delta at the late viewer', () => late.value('alpha', 'cpu_percent') === 55.5);
    await waitFor('delta at the early viewer', () => early.value('alpha', 'cpu_percent') === 55.5);
    expect(late.messages.at(-1)).toMatchObject({ t: 'd', updates: [['alpha', 0, { 0: 55.5 }]] });
    expect(late.fleet.get('beta')?.values.cpu_percent).toBe(20);

    const snapshotRes = await fetch(`${dev.url}/api/snapshot`);
    expect(snapshotRes.headers.get('cache-control')).toBe('public, max-age=5');
    const snapshot = (await snapshotRes.json()) as { t: string; m: Array<{ id: string; k: number; v: Record<string, number> }> };
    expect(snapshot.t).toBe('s');
    expect(snapshot.m.find((m) => m.id === 'alpha')?.v['0']).toBe(55.5);
    const machines = (await (await fetch(`${dev.url}/api/machines`)).json()) as { id: string; metrics: Record<string, number | null> }[];
    expect(machines.map((m) => m.id)).toEqual(['alpha', 'beta']);
    expect(machines[0].metrics.cpu_percent).toBe(55.5);
    expect('cpu_user_percent' in machines[0].metrics).toBe(false); // only what the hub sent
  });

  it("never passes a viewer's frames on to other viewers", async () => {
    const honest = await viewer();
    const attacker = await viewer();
    await waitFor('both snapshots', () => honest.messages.length > 0 && attacker.messages.length > 0);
    const before = await relay0();
    const fake = machine('evil', { cpu_percent: 99.9 });
    const forged = createFleetEncoder();
    attacker.ws.send(forged.snapshot([fake], Date.now()));
    attacker.ws.send(forged.delta([['alpha', 0, { 0: 1 }]], ['beta'], Date.now()));
    attacker.ws.send('ping');
    await waitFor('pong from the auto-response', () => attacker.raw.includes('pong'));
    await waitFor('fake frames reached the object', async () => (await relay0()).viewerFramesIn >= before.viewerFramesIn + 2);

    const h = await hub();
    h.sendDelta([['beta', 0, { 0: 21 }]], [], Date.now());
    await waitFor('real delta', () => honest.value('beta', 'cpu_percent') === 21);
    expect(honest.raw.join('\n')).not.toContain('evil');
    expect(honest.fleet.has('evil')).toBe(false);
    expect(honest.value('alpha', 'cpu_percent')).toBe(55.5);
    expect(honest.fleet.has('beta')).toBe(true);
    const snapshot = await (await fetch(`${dev.url}/api/snapshot`)).text();
    expect(snapshot).not.toContain('evil');
  });

  it('answers malformed or oversized hub frames with an error and changes nothing', async () => {
    const v = await viewer();
    await waitFor('snapshot', () => v.messages.length > 0);
    const h = await hub();
    h.send('{"t":"d","ts":1,"a":[[0,"bad id!"]],"u":[[0,0]]}');
    h.send('not json');
    h.sendSnapshot(Array.from({ length: 51 }, (_, i) => machine(`m${i}`, {})), Date.now()); // MAX_MACHINES=50
    await waitFor('three error replies', () => (h.replies.length >= 3 ? h.replies : undefined));
    expect(h.replies.map((r) => JSON.parse(r).t)).toEqual(['e', 'e', 'e']);
    expect(h.replies[2]).toContain('at most 50 machines');
    await new Promise((r) => setTimeout(r, 200));
    expect(v.messages).toHaveLength(1);
    expect([...v.fleet.keys()].sort()).toEqual(['alpha', 'beta']);
  });

  it('marks a machine the relay stopped hearing about offline with the sweep alarm, and back when it returns', async () => {
    const v = await viewer();
    const h = await hub();
    const t0 = Date.now();
    h.sendDelta([['quiet', 0, { 0: 5, s: 'healthy', n: 'quiet', h: 'quiet', l: {}, i: 1000 }]], [], t0);
    await waitFor('quiet appears', () => v.fleet.get('quiet'));
    // keep the others talking so only "quiet" falls silent
    const chatter = setInterval(() => h.sendDelta([['alpha', 0, {}], ['beta', 0, {}]], [], Date.now()), 250);
    try {
      const offline = await waitFor('quiet offline', () => v.fleet.get('quiet')?.status === 'offline', 8_000);
      expect(offline).toBe(true);
      const silentFor = Date.now() - t0;
      expect(silentFor).toBeGreaterThanOrEqual(1_500);
      expect(v.fleet.get('alpha')?.status).toBe('healthy');
      const machines = (await (await fetch(`${dev.url}/api/machines`)).json()) as { id: string; status: string }[];
      expect(machines.find((m) => m.id === 'quiet')?.status).toBe('offline');
      h.sendDelta([['quiet', 0, { 0: 6 }]], [], Date.now());
      await waitFor('quiet back to the hub status', () => v.fleet.get('quiet')?.status === 'healthy');
      expect(v.value('quiet', 'cpu_percent')).toBe(6);
    } finally {
      clearInterval(chatter);
    }
    expect((await relay0()).alarmsRun).toBeGreaterThan(0);
  });

  it('restores the snapshot from SQLite after the process restarts with the same state dir', async () => {
    const h = await hub();
    const ts = Date.now();
    h.sendSnapshot([machine('persisted', { cpu_percent: 42.5, disk_percent: 61 }, { lastSeen: ts, labels: { dc: 'ams' } })], ts);
    await waitFor('a checkpoint after the snapshot', async () => {
      const s = await relay0();
      return s.checkpoints > 0 && s.machines === 1 && (await (await fetch(`${dev.url}/api/snapshot`)).text()).includes('persisted');
    });
    await waitFor('checkpointed', async () => (await relay0()).alarmsRun > 0);
    await new Promise((r) => setTimeout(r, 700)); // > CHECKPOINT_INTERVAL_MS: the alarm has written it
    for (const c of open.splice(0)) c.close();
    await dev.stop();

    dev = await startWranglerDev({ vars: VARS, persistDir });
    // The view's config came back from SQLite too: a viewer is served before the hub says anything.
    const v = await viewer();
    await waitFor('restored snapshot', () => v.messages.length > 0);
    const first = v.messages[0];
    expect(first.t).toBe('s');
    if (first.t === 's') expect(first.machines.map((m) => m.id)).toEqual(['persisted']);
    expect(v.value('persisted', 'cpu_percent')).toBe(42.5);
    expect(v.fleet.get('persisted')?.labels).toEqual({ dc: 'ams' });
    const stats = await relay0();
    expect(stats.rowsRead).toBeGreaterThan(0);
    expect(stats.hubFramesIn).toBe(0); // nothing was re-sent: it came from storage

    // The restarted object no longer knows the hub's machine numbers: a delta that uses one gets a
    // resync request (the hub's forwarder answers it with a snapshot) and changes nothing.
    const h2 = await hub();
    expect(v.info()).toMatchObject({ t: 'v', slug: 'default', title: 'View default' });
    h2.send(JSON.stringify({ t: 'd', ts: Date.now(), u: [[0, 0, 0, 99]] }));
    const reply = JSON.parse(await waitFor('resync request', () => h2.replies[0])) as { t: string; resync?: boolean; error: string };
    expect(reply).toMatchObject({ t: 'e', resync: true });
    expect(reply.error).toMatch(/unknown machine number 0/);
    h2.sendSnapshot([machine('persisted', { cpu_percent: 43 }, { labels: { dc: 'ams' } })], Date.now());
    await waitFor('the snapshot answers it', () => v.value('persisted', 'cpu_percent') === 43);
  });
});
