// Public views on a real hub: collectors over gRPC (synthetic reports, real HTTP/2), the REST routes
// with the admin token, PostgreSQL for the stored views, and a local WebSocket server on 127.0.0.1
// playing the relay that keeps every byte the hub sends per view. What a view hides is absent from
// every byte; views made through the API are picked up at run time and survive a restart with the
// same opaque keys; a deleted view is revoked at the edge.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../../hub/config.ts';
import { startHub, type Hub } from '../../../hub/hub.ts';
import { createTestDatabase, tempDir, waitFor } from '../../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../../support/synthetic-collector.ts';
import { startCaptureRelay, type CaptureRelay } from '../../support/capture-relay.ts';

const EDGE_KEY = 'edge-key-public-views-hub';
const ADMIN = 'admin-token-public-views-0123';
const dir = tempDir('views-hub');
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let relay: CaptureRelay;
let hub: Hub;
let api: string;
const sessions: SyntheticSession[] = [];

async function start(): Promise<void> {
  const config = parseHubConfig([], {
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    DATA_DIR: dir.path,
    TIMESCALE_URL: db.url,
    HISTORY_FLUSH_INTERVAL: '0.05',
    EDGE_URL: relay.url,
    EDGE_API_KEY: EDGE_KEY,
    EDGE_PUSH_INTERVAL: '0.05',
    ADMIN_TOKEN: ADMIN,
    PUBLIC_VIEWS_FILE: path.join(dir.path, 'views.yaml'),
  });
  hub = await startHub(config, { log: pino({ level: 'silent' }), dbMaxConnections: 2 });
  api = `http://127.0.0.1:${hub.httpPort}/api/public-views`;
}

function report(id: string, seq: number, labels: Record<string, string>) {
  const r = syntheticReport(id, seq, Date.now());
  r.hostname = `${id}.corp.internal`;
  r.displayName = ''; // no name given: the hub shows the id
  r.labels = labels;
  return r;
}

async function feed(seq: number): Promise<void> {
  sessions[0].send(report('hidden-alpha-id', seq, { env: 'prod', team: 'secret-team-value' }));
  sessions[1].send(report('hidden-beta-id', seq, { env: 'dev', team: 'other-team-value' }));
}

const admin = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };

beforeAll(async () => {
  db = await createTestDatabase();
  relay = await startCaptureRelay(EDGE_KEY);
  writeFileSync(path.join(dir.path, 'views.yaml'), 'views:\n  - slug: status\n    title: Status\n    machines: all\n');
  await start();
  for (const id of ['hidden-alpha-id', 'hidden-beta-id']) sessions.push(openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, id));
  await feed(1);
}, 60_000);

afterAll(async () => {
  for (const s of sessions) await s.finish().catch(() => {});
  await hub?.close();
  await relay?.close();
  await db?.drop();
  dir.remove();
});

describe('public views on the hub', () => {
  it('the file view is forwarded with opaque keys; hostnames, labels and ids never leave', async () => {
    const status = relay.view('status');
    await waitFor('both machines in the status view', () => status.fleet.size === 2);
    expect(status.configs[0]).toMatchObject({ slug: 'status', title: 'Status', access: 'public', keyHash: null });
    for (const m of status.fleet.values()) expect(m).toMatchObject({ id: expect.stringMatching(/^m[0-9a-f]{16}$/), host: '', labels: {} });
    const text = status.frames.join('\n');
    for (const hidden of ['hidden-alpha-id', 'hidden-beta-id', 'corp.internal', 'secret-team-value', 'other-team-value', 'prod']) expect(text).not.toContain(hidden);
    const res = await fetch(api);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { views: Array<{ view: { slug: string; machines: unknown }; source: string; url: string }> };
    expect(body.views).toEqual([{ view: expect.objectContaining({ slug: 'status', machines: 'all' }), source: 'file', url: `${relay.url.replace('ws://', 'http://').replace('/ingest', '')}/v/status` }]);
  });

  it('PUT needs the admin token, validates, and a new view reaches the edge at once', async () => {
    const def = { title: 'Prod', machines: { labels: { env: 'prod' } }, show: { id: true, labels: true }, access: 'link' };
    expect((await fetch(`${api}/prod`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(def) })).status).toBe(401);
    const invalid = await fetch(`${api}/prod`, { method: 'PUT', headers: admin, body: JSON.stringify({ ...def, show: { metrics: ['nope'] } }) });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: string }).error).toMatch(/view\.show\.metrics\[0\]: unknown metric "nope"/);
    expect((await fetch(`${api}/status`, { method: 'PUT', headers: admin, body: JSON.stringify(def) })).status).toBe(409);
    expect((await fetch(`${api}/status`, { method: 'DELETE', headers: admin })).status).toBe(409);

    const created = await fetch(`${api}/prod`, { method: 'PUT', headers: admin, body: JSON.stringify(def) });
    expect(created.status).toBe(201);
    const entry = (await created.json()) as { secret: string; link: string; url: string };
    expect(entry.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(entry.link).toBe(`${entry.url}?key=${entry.secret}`);
    // Without the admin token (and no dashboard token set) the secret is not shown.
    const anonymous = (await (await fetch(`${api}/prod`)).json()) as Record<string, unknown>;
    expect(anonymous).toMatchObject({ secret: null, link: null, secretHidden: true });

    const prod = relay.view('prod');
    await waitFor('the prod view at the edge', () => prod.snapshots >= 1 && prod.fleet.size === 1);
    expect(prod.configs[0]).toMatchObject({ access: 'link', keyHash: createHash('sha256').update(entry.secret).digest('hex') });
    expect(prod.fleet.get('hidden-alpha-id')).toMatchObject({ labels: { env: 'prod', team: 'secret-team-value' }, host: '' });
    const text = prod.frames.join('\n');
    for (const hidden of ['hidden-beta-id', 'other-team-value', 'corp.internal', entry.secret]) expect(text).not.toContain(hidden);

    // Rotation: a new secret, a new config frame with its hash.
    const rotated = (await (await fetch(`${api}/prod/rotate-key`, { method: 'POST', headers: admin })).json()) as { secret: string };
    expect(rotated.secret).not.toBe(entry.secret);
    await waitFor('rotated config', () => prod.configs.at(-1)!.keyHash === createHash('sha256').update(rotated.secret).digest('hex'));
  });

  it('views survive a restart (same opaque keys), and a deleted view is revoked at the edge', async () => {
    const keysBefore = [...relay.view('status').fleet.keys()].sort();
    const ending = sessions.splice(0).map((s) => s.finish().catch(() => {}));
    await hub.close();
    await Promise.all(ending);
    const snapshotsBefore = relay.view('prod').snapshots;
    await start();
    await waitFor('prod forwarded again after the restart', () => relay.view('prod').snapshots > snapshotsBefore, 20_000);
    const listed = (await (await fetch(api, { headers: admin })).json()) as { views: Array<{ view: { slug: string }; source: string }> };
    expect(listed.views.map((v) => [v.view.slug, v.source])).toEqual([
      ['prod', 'api'],
      ['status', 'file'],
    ]);
    for (const id of ['hidden-alpha-id', 'hidden-beta-id']) sessions.push(openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, id));
    await feed(2);
    await waitFor('status filled again', () => relay.view('status').fleet.size === 2);
    expect([...relay.view('status').fleet.keys()].sort()).toEqual(keysBefore);

    expect((await fetch(`${api}/prod`, { method: 'DELETE', headers: admin })).status).toBe(204);
    await waitFor('revoke frame at the edge', () => relay.view('prod').revoked);
    expect(relay.view('prod').frames.at(-1)).toBe('{"t":"x","slug":"prod"}');
    expect((await fetch(`${api}/prod`)).status).toBe(404);
    const metrics = await (await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^sysmonstm_hub_edge_frames_refused_total 0$/m);
    expect(metrics).toMatch(/^sysmonstm_hub_edge_views 1$/m);
    for (const hidden of ['hidden-beta-id', 'corp.internal', 'other-team-value']) expect(relay.allText()).not.toContain(hidden);
  }, 60_000);
});
