// The history contract on the TimescaleDB build of PGlite (a devDependency, test/support/timescale-pglite.ts),
// in a temp data directory: it proves the TimescaleDB SQL path (hypertable, continuous aggregates,
// policies run by maintain()) without a TimescaleDB server. The hub's embedded default is upstream
// PGlite on the plain path: test/hub/history/open-history.embedded.test.ts.
import { openPgliteClient } from '../../../hub/db.ts';
import { tempDir } from '../../support/servers.ts';
import { timescalePglite } from '../../support/timescale-pglite.ts';
import { historyContract } from './history-store-contract.ts';
import { captureLog } from '../../support/test-log.ts';

historyContract('timescaledb', 'PGlite TimescaleDB build', async () => {
  const dir = tempDir('history-pglite');
  const { log } = captureLog();
  return {
    open: () => openPgliteClient(dir.path, { log, engine: timescalePglite }),
    dispose: async () => dir.remove(),
  };
});
