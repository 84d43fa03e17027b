// The view registry on a real PostgreSQL: file views read-only (409), API views stored and shared,
// link secrets kept across restarts and rotated, a view dropped from the file revoked at the next
// start, and reads applied in order (a slow poll never brings an older state back after a write).
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { parsePublicView } from '../../../proto/public-view.ts';
import { createPgClient, type SqlClient } from '../../../hub/db.ts';
import { openViewRegistry } from '../../../hub/views/view-registry.ts';
import { createViewStore, type ViewStore } from '../../../hub/views/view-store.ts';
import { migrate } from '../../../schema/migrate.ts';
import { createTestDatabase } from '../../support/servers.ts';

const log = pino({ level: 'silent' });
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: SqlClient;
let store: ViewStore;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = createPgClient(db.url, { log });
  await migrate(sql);
  store = createViewStore(sql, log);
});
beforeEach(async () => {
  await sql.exec('DELETE FROM public_views; DELETE FROM public_view_secrets; DELETE FROM public_view_tombstones; DELETE FROM public_view_settings');
});
afterAll(async () => {
  await sql?.close();
  await db?.drop();
});

const FILE_VIEW = parsePublicView({ slug: 'from-file', machines: 'all', access: 'link' });

it('file views are read-only; API views are stored, listed, shared and survive a new registry', async () => {
  const a = await openViewRegistry({ store, fileViews: [FILE_VIEW], log, pollMs: 60_000 });
  const b = await openViewRegistry({ store, fileViews: [FILE_VIEW], log, pollMs: 60_000 }); // another replica
  try {
    expect(a.salt).toBe(b.salt);
    await expect(a.put('from-file', { machines: 'all' })).rejects.toMatchObject({ status: 409 });
    await expect(a.remove('from-file')).rejects.toMatchObject({ status: 409 });
    await expect(a.put('x', { machines: 'all', slug: 'y' })).rejects.toMatchObject({ status: 400 });
    await expect(a.put('x', { machines: 'nobody' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/^view\.machines: /) });
    const { created } = await a.put('api-view', { title: 'API', machines: { ids: ['m1'] } });
    expect(created).toBe(true);
    expect((await a.put('api-view', { title: 'API 2', machines: { ids: ['m1'] } })).created).toBe(false);
    await b.refresh();
    expect(b.list().map((e) => [e.view.slug, e.source, e.view.title])).toEqual([
      ['api-view', 'api', 'API 2'],
      ['from-file', 'file', 'from-file'],
    ]);
    // The file's link view has a secret, the same for every replica, kept until rotated.
    const secret = a.get('from-file')!.secret!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(b.get('from-file')!.secret).toBe(secret);
    const rotated = await a.rotateKey('from-file');
    expect(rotated.secret).not.toBe(secret);
    await expect(a.rotateKey('api-view')).rejects.toMatchObject({ status: 400 });
    await expect(a.remove('nope')).rejects.toMatchObject({ status: 404 });
  } finally {
    a.close();
    b.close();
  }
});

it('a view dropped from the file is revoked at the next start', async () => {
  const first = await openViewRegistry({ store, fileViews: [FILE_VIEW], log, pollMs: 60_000 });
  expect(first.tombstones()).toEqual([]);
  first.close();
  const second = await openViewRegistry({ store, fileViews: [], log, pollMs: 60_000 });
  expect(second.tombstones()).toEqual(['from-file']);
  await second.revoked('from-file');
  expect(second.tombstones()).toEqual([]);
  second.close();
});

it('a slow poll that read before a write never brings the old state back afterwards', async () => {
  let slowNext = false;
  const slowStore: ViewStore = {
    ...store,
    async read() {
      const delay = slowNext;
      slowNext = false;
      const snapshot = await store.read();
      if (delay) await new Promise((r) => setTimeout(r, 400));
      return snapshot;
    },
  };
  const registry = await openViewRegistry({ store: slowStore, fileViews: [], log, pollMs: 100 });
  const titles: string[] = [];
  registry.onChange(() => titles.push(registry.get('v')?.view.title ?? '(none)'));
  try {
    await registry.put('v', { title: 'one', machines: 'all' });
    await new Promise((r) => setTimeout(r, 150));
    slowNext = true; // the next poll reads "one", then takes 400 ms
    await new Promise((r) => setTimeout(r, 120));
    await registry.put('v', { title: 'two', machines: 'all' });
    await new Promise((r) => setTimeout(r, 700));
    expect(registry.get('v')!.view.title).toBe('two');
    expect(titles).toEqual(['one', 'two']);
  } finally {
    registry.close();
  }
});
