// The hub's public views at the edge, driven in process: the real view registry on a real PostgreSQL
// (migrations applied), the real per-view forwarders and projection, a MemoryFleetSource feeding
// machines straight in (no gRPC: that is covered by test/hub/views/view-registry.real-hub.test.ts), and
// a local WebSocket server on 127.0.0.1 playing the relay that keeps every byte sent per view.
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH, type MachineView } from '../../../proto/delta.ts';
import { parsePublicView, type PublicViewDefinition } from '../../../proto/public-view.ts';
import { createPgClient, type SqlClient } from '../../../hub/db.ts';
import { createEdgeViews, type EdgeViews } from '../../../hub/edge/edge-views.ts';
import { openViewRegistry, type ViewRegistry } from '../../../hub/views/view-registry.ts';
import { createViewStore } from '../../../hub/views/view-store.ts';
import { labelsWithin } from '../../../hub/views/view-projection.ts';
import { migrate } from '../../../schema/migrate.ts';
import { createTestDatabase, waitFor } from '../../support/servers.ts';
import { machine, MemoryFleetSource } from '../../edge/edge-clients.ts';
import { startCaptureRelay, type CaptureRelay } from '../../support/capture-relay.ts';

const KEY = 'edge-key-for-views-test';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: SqlClient;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await sql.exec('DELETE FROM public_views; DELETE FROM public_view_secrets; DELETE FROM public_view_tombstones; DELETE FROM public_view_settings');
});
beforeAll(async () => {
  db = await createTestDatabase();
  sql = createPgClient(db.url, { log: pino({ level: 'silent' }) });
  await migrate(sql);
});
afterAll(async () => {
  await sql?.close();
  await db?.drop();
});

/** A logger that keeps its lines (to check what is logged, and how often). */
function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

async function setup(options: { fileViews?: PublicViewDefinition[]; maxFrameBytes?: number; source?: MemoryFleetSource } = {}) {
  const { log, lines } = recordingLog();
  const relay = await startCaptureRelay(KEY);
  cleanups.push(() => relay.close());
  const registry = await openViewRegistry({ store: createViewStore(sql, log), fileViews: options.fileViews ?? [], log, pollMs: 200 });
  cleanups.push(() => registry.close());
  const source = options.source ?? new MemoryFleetSource();
  const edge = createEdgeViews({
    url: relay.url,
    apiKey: KEY,
    pushIntervalMs: 50,
    maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
    source,
    views: registry,
    log,
    backoff: { baseMs: 100, maxMs: 800 },
  });
  cleanups.push(() => edge.close());
  edge.start();
  return { relay, registry, source, edge, lines };
}

const OPS = parsePublicView({ slug: 'ops', title: 'Ops', machines: { labels: { env: 'prod' } }, show: { id: true, hostname: true, labels: true, metrics: ['cpu_percent', 'memory_percent'] } });
const STATUS = parsePublicView({ slug: 'status', title: 'Status', machines: 'all', show: { metrics: ['cpu_percent'] }, access: 'link' });

function secretMachine(i: number, env: string): MachineView {
  // No display name given: the collector's default is the id (a hidden id must not leak through it).
  return { ...machine(`secret-id-${i}`, { cpu_percent: 10 + i, memory_percent: 50, disk_percent: 40 }, { host: `secret-host-${i}.corp`, labels: { env, rack: `secret-rack-${i}` } }), name: `secret-id-${i}` };
}

describe('public views at the edge', () => {
  it('two views with different selectors and shown fields: each gets only its own, hidden values never sent', async () => {
    const source = new MemoryFleetSource();
    for (let i = 0; i < 6; i++) source.set(secretMachine(i, i % 2 === 0 ? 'prod' : 'staging'));
    const { relay, registry } = await setup({ fileViews: [OPS, STATUS], source });
    await waitFor('both snapshots', () => relay.view('ops').snapshots === 1 && relay.view('status').snapshots === 1);
    const ops = relay.view('ops');
    const status = relay.view('status');

    // Config first, on every socket.
    expect(ops.frames[0]).toMatch(/^\{"t":"c"/);
    expect(ops.configs[0]).toEqual({ t: 'c', slug: 'ops', title: 'Ops', access: 'public', keyHash: null, metrics: [0, 1] });
    const secret = registry.get('status')!.secret!;
    expect(secret.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits, base64url
    expect(status.configs[0]).toMatchObject({ access: 'link', keyHash: createHash('sha256').update(secret).digest('hex') });

    // ops: prod machines only, with their ids, hostnames and labels.
    expect([...ops.fleet.keys()].sort()).toEqual(['secret-id-0', 'secret-id-2', 'secret-id-4']);
    expect(ops.fleet.get('secret-id-2')).toMatchObject({ host: 'secret-host-2.corp', labels: { env: 'prod', rack: 'secret-rack-2' }, values: { cpu_percent: 12, memory_percent: 50 } });
    const opsText = ops.frames.join('\n');
    for (const i of [1, 3, 5]) for (const hidden of [`secret-id-${i}`, `secret-host-${i}`, `secret-rack-${i}`]) expect(opsText).not.toContain(hidden);

    // status: every machine, opaque keys, no host, no labels, cpu only — and not the link secret.
    expect(status.fleet.size).toBe(6);
    for (const m of status.fleet.values()) {
      expect(m.id).toMatch(/^m[0-9a-f]{16}$/);
      expect(m).toMatchObject({ host: '', labels: {}, name: `Machine ${m.id.slice(0, 6)}` });
      expect(Object.keys(m.values)).toEqual(['cpu_percent']);
    }
    const statusText = status.frames.join('\n');
    for (const hidden of ['secret-id-', 'secret-host-', 'secret-rack-', 'prod', 'staging', secret]) expect(statusText).not.toContain(hidden);

    // Live changes keep the rules: a machine that leaves ops' selection is removed there, stays in status.
    source.set(secretMachine(2, 'staging'));
    source.set({ ...secretMachine(4, 'prod'), values: { cpu_percent: 99, memory_percent: 51 } });
    await waitFor('removal and update in ops', () => !ops.fleet.has('secret-id-2') && ops.fleet.get('secret-id-4')?.values.cpu_percent === 99);
    await waitFor('update in status', () => [...status.fleet.values()].some((m) => m.values.cpu_percent === 99));
    expect(status.fleet.size).toBe(6);
    for (const hidden of ['secret-id-', 'secret-host-', 'secret-rack-', 'staging']) expect(status.frames.join('\n')).not.toContain(hidden);
    expect(relay.allText()).not.toContain(secret);
  });

  it('views added, changed, rotated and deleted at run time: config resent, new snapshot, revocation', async () => {
    const source = new MemoryFleetSource();
    for (let i = 0; i < 3; i++) source.set(secretMachine(i, 'prod'));
    const { relay, registry, edge, lines } = await setup({ source });
    await new Promise((r) => setTimeout(r, 300));
    expect(relay.views.size).toBe(0); // no view: nothing forwarded, and the log says so
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('edge: no public view is configured, so nothing is forwarded'))).toBe(true);

    await registry.put('team', { title: 'Team', machines: 'all', access: 'link' });
    const team = relay.view('team');
    await waitFor('first snapshot', () => team.snapshots === 1);
    expect(team.configs).toHaveLength(1);

    await registry.put('team', { title: 'Team (renamed)', machines: 'all', access: 'link' });
    await waitFor('new config', () => team.configs.length === 2);
    expect(team.configs[1].title).toBe('Team (renamed)');
    await new Promise((r) => setTimeout(r, 200));
    expect(team.snapshots).toBe(1); // a title is config only

    const before = team.configs[1].keyHash;
    const rotated = await registry.rotateKey('team');
    await waitFor('rotated config', () => team.configs.length === 3);
    expect(team.configs[2].keyHash).toBe(createHash('sha256').update(rotated.secret!).digest('hex'));
    expect(team.configs[2].keyHash).not.toBe(before);

    await registry.put('team', { title: 'Team (renamed)', machines: 'all', access: 'link', show: { metrics: ['memory_percent'] } });
    await waitFor('fresh snapshot with the new metrics', () => team.snapshots === 2);
    expect(team.configs.at(-1)!.metrics).toEqual([1]);
    expect(Object.keys([...team.fleet.values()][0].values)).toEqual(['memory_percent']);
    expect(team.sockets).toBe(1); // all on the same socket

    await registry.remove('team');
    expect(registry.tombstones()).toEqual(['team']);
    await waitFor('revoked at the edge', () => team.revoked);
    expect(team.frames.at(-1)).toBe('{"t":"x","slug":"team"}');
    await waitFor('tombstone cleared', () => registry.tombstones().length === 0);
    await waitFor('sockets closed', () => relay.openSockets('team').length === 0);
    expect(edge.stats().views).toBe(0);
  });

  it('a deletion made while the edge is down is delivered when it is back (the tombstone survives)', async () => {
    const { log } = recordingLog();
    const store = createViewStore(sql, log);
    const registry = await openViewRegistry({ store, fileViews: [], log, pollMs: 200 });
    cleanups.push(() => registry.close());
    await registry.put('gone', { machines: 'all' });
    await registry.remove('gone');
    // "Another start": a new registry reads the tombstone from the database.
    const again = await openViewRegistry({ store, fileViews: [], log, pollMs: 200 });
    cleanups.push(() => again.close());
    expect(again.tombstones()).toEqual(['gone']);
    const relay = await startCaptureRelay(KEY);
    cleanups.push(() => relay.close());
    const edge = createEdgeViews({ url: relay.url, apiKey: KEY, pushIntervalMs: 50, maxFrameBytes: 1 << 20, source: new MemoryFleetSource(), views: again, log, backoff: { baseMs: 50, maxMs: 200 } });
    cleanups.push(() => edge.close());
    edge.start();
    await waitFor('revoked', () => relay.view('gone').revoked);
    await waitFor('tombstone cleared', async () => (await store.read()).tombstones.length === 0);
  });

  it('a refused snapshot is retried with a growing backoff, never in a loop, and logged once', async () => {
    const source = new MemoryFleetSource();
    source.set(secretMachine(0, 'prod'));
    const { relay, edge, lines } = await setup({ fileViews: [STATUS], source });
    const refusal = JSON.stringify({ t: 'e', error: 'invalid fleet message: unknown machine number 0; a new snapshot is needed', resync: true });
    relay.refuse = (_slug, frame) => (frame.startsWith('{"t":"s"') ? refusal : null);
    await new Promise((r) => setTimeout(r, 3_000));
    const snapshotsSent = relay.view('status').frames.filter((f) => f.startsWith('{"t":"s"')).length;
    // Backoff 100 ms doubling to 800 ms (full jitter, at least 25 ms): at most ~15 in 3 s; a loop sends thousands.
    expect(snapshotsSent).toBeGreaterThanOrEqual(2);
    expect(snapshotsSent).toBeLessThan(25);
    expect(edge.stats().framesRefused).toBe(snapshotsSent);
    const warned = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('edge relay refused a frame'));
    expect(warned).toHaveLength(1);
    relay.refuse = undefined;
    await waitFor('taken once the relay accepts', () => relay.view('status').snapshots === 1, 5_000);
  });

  it('10,000 machines with maximal ids and names and many labels reach a view in parts, each within the frame limit', async () => {
    const maxFrameBytes = 1024 * 1024;
    const source = new MemoryFleetSource();
    const labels: Record<string, string> = {};
    for (let l = 0; l < 32; l++) labels[`label-key-${String(l).padStart(2, '0')}-${'k'.repeat(20)}`] = `value-${l}-${'v'.repeat(56)}`;
    const idOf = (i: number) => `m${String(i).padStart(5, '0')}-${'x'.repeat(MAX_ID_LENGTH - 7)}`;
    for (let i = 0; i < 10_000; i++) {
      source.set({ ...machine(idOf(i), { cpu_percent: 1, memory_percent: 2, disk_percent: 3, load_avg_1m: 0.5 }, { host: `h${i}-${'h'.repeat(200)}`, labels }), name: `N${i} ${'é'.repeat(MAX_NAME_LENGTH - 8)}` });
    }
    const all = parsePublicView({ slug: 'default', machines: 'all', show: { id: true, hostname: true, labels: true } });
    const t0 = performance.now();
    const { relay } = await setup({ fileViews: [all], source, maxFrameBytes });
    const view = relay.view('default');
    await waitFor('the whole fleet', () => view.snapshots === 1, 60_000);
    const snapshotMs = performance.now() - t0;
    expect(view.fleet.size).toBe(10_000);
    // Labels as the view publishes them: whole labels in key order within PUBLISHED_LABEL_BYTES.
    expect(view.fleet.get(idOf(9_999))).toMatchObject({ labels: labelsWithin(labels), values: { cpu_percent: 1 } });
    expect(Object.keys(labelsWithin(labels)).length).toBeGreaterThan(1);
    const parts = view.frames.filter((f) => f.startsWith('{"t":"s"'));
    const bytes = parts.map((f) => Buffer.byteLength(f));
    expect(parts.length).toBeGreaterThan(10);
    expect(Math.max(...bytes)).toBeLessThanOrEqual(maxFrameBytes);

    // Every machine changes, hostname included: several complete deltas, each within the limit.
    for (let i = 0; i < 10_000; i++) source.set({ ...machine(idOf(i), { cpu_percent: 50, memory_percent: 2, disk_percent: 3, load_avg_1m: 0.5 }, { host: `H${i}-${'h'.repeat(200)}`, labels, lastSeen: 2 }), name: `N${i} ${'é'.repeat(MAX_NAME_LENGTH - 8)}` });
    await waitFor('every change applied', () => [...view.fleet.values()].every((m) => m.values.cpu_percent === 50 && m.host.startsWith('H')), 30_000);
    const deltas = view.frames.filter((f) => f.startsWith('{"t":"d"'));
    expect(deltas.length).toBeGreaterThan(1);
    expect(Math.max(...deltas.map((f) => Buffer.byteLength(f)))).toBeLessThanOrEqual(maxFrameBytes);
    console.log(`10,000 machines: snapshot of ${(bytes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB in ${parts.length} parts (largest ${Math.max(...bytes)} B) in ${Math.round(snapshotMs)} ms; full update in ${deltas.length} deltas`);
  }, 120_000);
});
