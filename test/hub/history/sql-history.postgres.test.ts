// The history contract on the local PostgreSQL 15 (no timescaledb extension → plain path), in a
// fresh database per run that is dropped afterwards.
import { createPgClient } from '../../../hub/db.ts';
import { createTestDatabase } from '../../support/servers.ts';
import { historyContract } from './history-store-contract.ts';
import { captureLog } from '../../support/test-log.ts';

historyContract('postgres', 'PostgreSQL 15', async () => {
  const db = await createTestDatabase();
  const { log } = captureLog();
  return {
    open: async () => createPgClient(db.url, { log }),
    dispose: () => db.drop(),
  };
});
