// The alert store on both storage paths (embedded PGlite TimescaleDB build, the local PostgreSQL):
// the history is newest first in numeric id order past 100 entries (a text sort would put 9 before
// 52), and paging with `before` walks every entry once, in order. Dead letters too.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPgClient, openPgliteClient, type SqlClient } from '../../../hub/db.ts';
import { createAlertStore, type AlertStore } from '../../../hub/alerts/alert-store.ts';
import { createSqlHistory } from '../../../hub/history/sql-history.ts';
import type { HistoryStore } from '../../../hub/history/history-store.ts';
import { captureLog } from '../../support/test-log.ts';
import { createTestDatabase, tempDir } from '../../support/servers.ts';

const ENTRIES = 130;

const PATHS = [
  {
    label: 'embedded PGlite',
    async open() {
      const dir = tempDir('alert-store');
      return { client: await openPgliteClient(dir.path, { log: captureLog().log }), dispose: async () => dir.remove() };
    },
  },
  {
    label: 'PostgreSQL',
    async open() {
      const db = await createTestDatabase();
      return { client: createPgClient(db.url, { log: captureLog().log }), dispose: () => db.drop() };
    },
  },
];

describe.each(PATHS)('alert store ($label)', (where) => {
  let client: SqlClient;
  let history: HistoryStore;
  let store: AlertStore;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ client, dispose } = await where.open());
    history = await createSqlHistory(client);
    store = createAlertStore(client);
    const t0 = Date.now() - ENTRIES * 1000;
    for (let i = 1; i <= ENTRIES; i++) {
      await store.record({
        transitionId: `t-${i}`,
        timeMs: t0 + i * 1000,
        ruleId: 'r1',
        ruleName: 'rule one',
        machine: i % 2 ? 'odd' : 'even',
        state: i % 3 ? 'firing' : 'resolved',
        severity: 'warning',
        value: i,
        detail: null,
        notifications: [],
      });
    }
  }, 60_000);

  afterAll(async () => {
    await history?.close();
    await client?.close();
    await dispose?.();
  });

  test('newest first in numeric order, past 100 entries', async () => {
    const rows = await store.history({ limit: 1000 });
    expect(rows).toHaveLength(ENTRIES);
    const ids = rows.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(rows.map((r) => r.value)).toEqual(Array.from({ length: ENTRIES }, (_, i) => ENTRIES - i));
    expect((await store.history({ limit: 100 })).map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => ENTRIES - i));
  });

  test('paging with before walks every entry once, in order, with and without a filter', async () => {
    for (const machine of [undefined, 'even']) {
      const seen: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await store.history({ limit: 40, machine, beforeId: before });
        if (page.length === 0) break;
        seen.push(...page.map((r) => r.value!));
        before = page[page.length - 1].id;
      }
      const expected = Array.from({ length: ENTRIES }, (_, i) => ENTRIES - i).filter((v) => machine === undefined || v % 2 === 0);
      expect(seen).toEqual(expected);
    }
  });

  test('dead letters are newest first in numeric order', async () => {
    for (let i = 1; i <= 12; i++) {
      await store.record({
        transitionId: `dl-${i}`,
        timeMs: Date.now(),
        ruleId: 'r1',
        ruleName: 'rule one',
        machine: 'odd',
        state: undefined,
        severity: 'warning',
        value: i,
        detail: null,
        notifications: [{ dedupeKey: `dl-${i}:0`, channel: { type: 'webhook', url: 'http://127.0.0.1:9/x' }, message: { kind: 'reminder', value: i } as never }],
      });
    }
    const jobs = await store.claimNotifications(100, 60_000);
    expect(jobs).toHaveLength(12);
    // One statement: every dead letter gets the same finished_at, so the id decides the order.
    await client.query(`UPDATE alert_notifications SET status = 'dead', finished_at = now(), last_error = 'x'`);
    const ids = (await store.deadLetters(100)).map((d) => d.id);
    expect(ids).toHaveLength(12);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });
});
