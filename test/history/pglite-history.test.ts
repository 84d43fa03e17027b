// The history contract on the embedded PGlite TimescaleDB build, in a temp data directory
// (opened once for the file; the reopen test closes and reopens the same directory).
import { openPgliteClient } from '../../hub/db.ts';
import { tempDir } from '../support/servers.ts';
import { historyContract } from './history-contract.ts';
import { captureLog } from './test-log.ts';

historyContract('timescaledb', 'embedded PGlite', async () => {
  const dir = tempDir('history-pglite');
  const { log } = captureLog();
  return {
    open: () => openPgliteClient(dir.path, { log }),
    dispose: async () => dir.remove(),
  };
});
