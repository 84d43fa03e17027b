// Test support for the history suites that need a real outage: a fresh database on the local
// PostgreSQL, a TCP proxy in front of it the test can cut and restore (test-log.ts), a client that
// connects through the proxy, and the plain-path history store on that client. close() undoes it all.
import { createPgClient, type SqlClient } from '../../hub/db.ts';
import type { HistoryStore } from '../../hub/history/history-store.ts';
import { createSqlHistory } from '../../hub/history/sql-history.ts';
import type { Logger } from '../../hub/log.ts';
import { createTestDatabase } from './servers.ts';
import { startTcpProxy, type TcpProxy } from './test-log.ts';

export interface ProxiedHistory {
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  proxy: TcpProxy;
  client: SqlClient;
  store: HistoryStore;
  close(): Promise<void>;
}

export async function openProxiedHistory(log: Logger): Promise<ProxiedHistory> {
  const db = await createTestDatabase();
  const proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
  const url = new URL(db.url);
  url.port = String(proxy.port);
  const client = createPgClient(url.toString(), { log, connectTimeoutMs: 1000 });
  const store = await createSqlHistory(client);
  return {
    db,
    proxy,
    client,
    store,
    async close() {
      await proxy.restore();
      await store.close();
      await client.close();
      await proxy.close();
      await db.drop();
    },
  };
}
