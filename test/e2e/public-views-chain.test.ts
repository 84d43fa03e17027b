// Public views end to end: a real hub (`sysmonstm all`: hub + local collector) with three views in its
// PUBLIC_VIEWS_FILE, forwarding to the real Worker (`wrangler dev`). The public view hides id,
// hostname and labels: its viewers never receive the machine id or the label value, in any byte;
// the link view needs the secret the hub shows, and rotating it on the hub cuts its viewers off;
// a view that selects nothing publishes nothing; a view made and deleted through the hub's API is
// revoked at the edge (viewers closed, 404 after).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { handshakeStatus, TestViewer } from '../edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../edge/wrangler-dev.ts';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';

const MACHINE_ID = 'secret-id-7f3a9c';
const LABEL_VALUE = 'secret-team-value';
let dev: WranglerDev;
let hub: CliProcess;
let hubUrl: string;
const dataDir = tempDir('views-chain');
const open: TestViewer[] = [];

async function viewer(pathAndQuery: string): Promise<TestViewer> {
  const v = await TestViewer.open(`ws://127.0.0.1:${dev.port}${pathAndQuery}`);
  open.push(v);
  return v;
}
async function hubView(slug: string): Promise<{ secret?: string | null; link?: string | null }> {
  const res = await fetch(`${hubUrl}/api/public-views/${slug}`);
  if (!res.ok) throw new Error(`GET /api/public-views/${slug}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { secret?: string | null; link?: string | null };
}

beforeAll(async () => {
  dev = await startWranglerDev();
  const viewsFile = path.join(dataDir.path, 'views.json');
  writeFileSync(
    viewsFile,
    JSON.stringify({
      views: [
        { slug: 'pub', title: 'Public board', machines: 'all', show: { metrics: ['cpu_percent', 'memory_percent'] } },
        { slug: 'ops', title: 'Ops', machines: { labels: { team: LABEL_VALUE } }, show: { id: true, hostname: true, labels: true }, access: 'link' },
        { slug: 'empty', title: 'Nothing', machines: { ids: ['nobody-here'] } },
      ],
    }),
  );
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  hubUrl = `http://127.0.0.1:${httpPort}`;
  hub = runCli(['all'], {
    HTTP_PORT: String(httpPort),
    GRPC_PORT: String(grpcPort),
    DATA_DIR: dataDir.path,
    MACHINE_ID,
    MACHINE_NAME: 'Public Box',
    LABELS: `team=${LABEL_VALUE}`,
    EDGE_URL: dev.ingestUrl,
    EDGE_API_KEY: dev.hubToken,
    PUBLIC_VIEWS_FILE: viewsFile,
    EDGE_PUSH_INTERVAL: '1',
    LOG_LEVEL: 'warn',
  });
  try {
    await waitFor('the machine at the public view', async () => {
      const res = await fetch(`${dev.url}/v/pub/api/machines`);
      return res.ok && ((await res.json()) as unknown[]).length === 1;
    }, 90_000, 500);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- hub output ---\n${hub.output()}\n--- wrangler output ---\n${dev?.output()}`);
  }
}, 150_000);

afterAll(async () => {
  for (const v of open) v.close();
  await hub?.stop();
  await dev?.stop();
  dataDir.remove();
});

describe('hub → wrangler dev → viewers, per public view', () => {
  it('the public view shows the machine without its id, hostname or labels, in no byte', async () => {
    const v = await viewer('/v/pub/ws');
    await waitFor('the machine and a delta', () => v.fleet.size === 1 && v.messages.length >= 2, 15_000);
    const m = [...v.fleet.values()][0];
    expect(m.id).toMatch(/^m[0-9a-f]{16}$/);
    expect(m.name).toBe('Public Box');
    expect(m.host).toBe('');
    expect(m.labels).toEqual({});
    expect(Object.keys(m.values).sort()).toEqual(['cpu_percent', 'memory_percent']);
    expect(v.info()).toEqual({ t: 'v', slug: 'pub', title: 'Public board', metrics: [0, 1] });
    expect(v.hub()?.up).toBe(true);
    const bytes = v.raw.join('\n');
    expect(bytes).not.toContain(MACHINE_ID);
    expect(bytes).not.toContain(LABEL_VALUE);
    const api = await fetch(`${dev.url}/v/pub/api/machines`);
    expect(api.headers.get('cache-control')).toBe('public, max-age=5');
    const text = await api.text();
    expect(text).not.toContain(MACHINE_ID);
    expect(text).not.toContain(LABEL_VALUE);
  });

  it('the link view wants the secret the hub shows, and a rotation on the hub cuts its viewers off', async () => {
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/ops/ws`)).toBe(404);
    const { secret, link } = await hubView('ops');
    expect(secret).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(link).toBe(`http://127.0.0.1:${dev.port}/v/ops?key=${secret}`);
    const v = await viewer(`/v/ops/ws?key=${secret}`);
    await waitFor('the machine, with its id', () => v.fleet.get(MACHINE_ID), 15_000);
    expect(v.fleet.get(MACHINE_ID)!.labels).toMatchObject({ team: LABEL_VALUE });
    const rotated = await fetch(`${hubUrl}/api/public-views/ops/rotate-key`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    const started = Date.now();
    await waitFor('the old-key viewer cut off', () => v.closed(), 10_000);
    expect(v.closeCode).toBe(4403);
    expect(Date.now() - started).toBeLessThan(10_000);
    const { secret: next } = await hubView('ops');
    expect(next).not.toBe(secret);
    expect(await handshakeStatus(`ws://127.0.0.1:${dev.port}/v/ops/ws?key=${secret}`)).toBe(404);
    const fresh = await viewer(`/v/ops/ws?key=${next}`);
    await waitFor('the new key works', () => fresh.fleet.get(MACHINE_ID), 15_000);
  });

  it('a view that selects nothing publishes an empty fleet', async () => {
    const v = await viewer('/v/empty/ws');
    await waitFor('snapshot and view info', () => v.messages.length >= 1 && v.info(), 15_000);
    expect(v.fleet.size).toBe(0);
    expect(v.raw.join('\n')).not.toContain('Public Box');
  });

  it('a view made and deleted through the hub API is revoked at the edge', async () => {
    const put = await fetch(`${hubUrl}/api/public-views/temp`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'temp', title: 'Temporary', machines: 'all' }),
    });
    expect(put.status, await put.text()).toBeLessThan(300);
    await waitFor('the new view at the edge', async () => (await fetch(`${dev.url}/v/temp/api/machines`)).ok, 30_000, 250);
    const v = await viewer('/v/temp/ws');
    await waitFor('served', () => v.fleet.size === 1, 15_000);
    const del = await fetch(`${hubUrl}/api/public-views/temp`, { method: 'DELETE' });
    expect(del.status).toBeLessThan(300);
    await waitFor('the viewer closed as revoked', () => v.closed(), 30_000);
    expect(v.closeCode).toBe(4404);
    expect((await fetch(`${dev.url}/v/temp/api/machines`)).status).toBe(404);
  }, 90_000);
});
