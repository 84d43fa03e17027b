// The collector's CommonJS entry: what `sysmonstm collector` re-executes node with, together with
// the collector's node options (collector-node-options.js), once the package is built. A process
// whose entry is CommonJS never starts Node's ESM loader, 2 MiB less resident for an agent that runs
// on every machine; dist/collector.cjs is the collector bundle as CommonJS (scripts/build.ts).
// Arguments: the collector's own (`sysmonstm collector ARGS` → `collector.cjs ARGS`).
'use strict';
const { runCollector } = require('../dist/collector.cjs');

runCollector(process.argv.slice(2), process.env, { stdoutIsTty: process.stdout.isTTY === true }).catch((err) => {
  process.stderr.write(`sysmonstm collector: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
