#!/usr/bin/env node
// sysmonstm command line: `all` (default: hub + local collector + dashboard), `hub`, `collector`.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`sysmonstm needs Node.js 22.18 or newer (this is ${process.version}).\n`);
  process.exit(1);
}

const USAGE = `usage:
  sysmonstm [all] [--http-port 8000] [--grpc-port 50051] [--data-dir ./data]   hub + collector for this machine
  sysmonstm hub [--http-port N] [--grpc-port N] [--data-dir DIR] ...             the hub alone
  sysmonstm collector --hub http://HOST:50051 [--id ID] [--name "Display name"] [--interval SECONDS]
Configuration is read from environment variables too; every variable and flag: docs/configuration.md.`;

const [command = 'all', ...rest] = process.argv.slice(2);
switch (command) {
  case 'all':
  case 'hub': {
    const { runHub } = await import('../hub/main.ts');
    await runHub(rest, process.env, { withCollector: command === 'all' });
    break;
  }
  case 'collector': {
    // The built bundle when it is up to date (much smaller in memory), else the sources.
    const { collectorModule } = await import('./collector-module.js');
    const { fileURLToPath, pathToFileURL } = await import('node:url');
    const chosen = collectorModule(fileURLToPath(new URL('..', import.meta.url)));
    const { runCollector } = await import(pathToFileURL(chosen.file).href);
    await runCollector(rest, process.env);
    break;
  }
  case '--help':
  case '-h':
  case 'help':
    process.stdout.write(USAGE + '\n');
    break;
  default:
    if (command.startsWith('--')) {
      const { runHub } = await import('../hub/main.ts');
      await runHub(process.argv.slice(2), process.env, { withCollector: true });
    } else {
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      process.exit(2);
    }
}
