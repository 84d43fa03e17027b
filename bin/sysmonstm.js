#!/usr/bin/env node
// sysmonstm command line: `all` (default: hub + local collector + dashboard), `hub`, `collector`,
// `help [COMMAND]`, `--version`. `COMMAND --help` prints every option of a command. It runs the
// TypeScript sources in a checkout and the built JavaScript (dist/) once installed (entry-points.js).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COLLECTOR_NODE_OPTIONS, collectorRelaunchArgv } from './collector-node-options.js';
import { entryPoints } from './entry-points.js';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`sysmonstm needs Node.js 22.18 or newer (this is ${process.version}).\n`);
  process.exit(1);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = entryPoints(root, existsSync);
const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const load = async (file) => {
  if (entry.mode === 'built' && !existsSync(file)) {
    process.stderr.write(`sysmonstm: ${file} is missing (${entry.reason}); a package is built by \`npm pack\` (scripts/build.ts)\n`);
    process.exit(1);
  }
  return import(pathToFileURL(file).href);
};

/** Words of `items` joined into lines of at most `width` characters, each starting with `indent`. */
function wrap(items, indent, width = 100) {
  const lines = [];
  let line = indent;
  for (const item of items) {
    if (line.length + item.length + 2 > width && line.trim()) {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += (line.trim() ? '  ' : '') + item;
  }
  if (line.trim()) lines.push(line.trimEnd());
  return lines.join('\n');
}

async function usage() {
  const { hubOptions } = await load(entry.hubUsage);
  const { collectorOptions } = await load(entry.collectorUsage);
  return `sysmonstm ${version}: a real-time fleet monitor.

Usage:
  sysmonstm [all] [HUB OPTIONS]             the hub, a collector for this machine and the dashboard (default)
  sysmonstm hub [HUB OPTIONS]               the hub alone, for collectors on other machines
  sysmonstm collector [COLLECTOR OPTIONS]   stream this machine's metrics to a hub
  sysmonstm COMMAND --help                  a command's options, with their variables and meanings
  sysmonstm --version

Hub options (all, hub):
${wrap(hubOptions().map((o) => `[${o.flag}]`), '  ')}

Collector options:
${wrap(collectorOptions().map((o) => `[${o.flag}]`), '  ')}

Every option is an environment variable too (--http-port: HTTP_PORT); all of them: docs/configuration.md.`;
}

const args = process.argv.slice(2);
const wantsHelp = (list) => list.includes('--help') || list.includes('-h');
// Options without a command are options of `all`.
const [command, ...rest] = args.length === 0 || (args[0].startsWith('-') && !['--help', '-h', '--version', '-V', '-v'].includes(args[0])) ? ['all', ...args] : args;

switch (command) {
  case 'all':
  case 'hub': {
    if (wantsHelp(rest)) process.stdout.write((await load(entry.hubUsage)).hubHelp(command) + '\n');
    else await (await load(entry.hub)).runHub(rest, process.env, { withCollector: command === 'all', stdoutIsTty: process.stdout.isTTY === true });
    break;
  }
  case 'collector': {
    // The collector's lean node options (collector-node-options.js): re-executed with them unless node got options of its own.
    const relaunch = wantsHelp(rest)
      ? null
      : collectorRelaunchArgv({
          command,
          execArgv: process.execArgv,
          argv: process.argv,
          execPath: process.execPath,
          env: process.env,
          canExecve: typeof process.execve === 'function',
          // Built: the CommonJS entry (no ESM loader in the collector process).
          cjsEntry: entry.mode === 'built' && existsSync(path.join(root, 'dist', 'collector.cjs')) ? path.join(root, 'bin', 'collector.cjs') : undefined,
        });
    if (relaunch) {
      try {
        process.execve(process.execPath, relaunch, process.env);
      } catch (err) {
        process.stderr.write(`sysmonstm collector: could not re-execute node with ${COLLECTOR_NODE_OPTIONS.join(' ')} (${err.message}); running without them\n`);
      }
    }
    if (wantsHelp(rest)) process.stdout.write((await load(entry.collectorUsage)).collectorHelp() + '\n');
    else await (await load(entry.collector)).runCollector(rest, process.env, { stdoutIsTty: process.stdout.isTTY === true });
    break;
  }
  case '--version':
  case '-V':
  case '-v':
  case 'version':
    process.stdout.write(`sysmonstm ${version}\n`);
    break;
  case 'help':
  case '--help':
  case '-h':
    if (rest[0] === 'collector') process.stdout.write((await load(entry.collectorUsage)).collectorHelp() + '\n');
    else if (rest[0] === 'hub' || rest[0] === 'all') process.stdout.write((await load(entry.hubUsage)).hubHelp(rest[0]) + '\n');
    else process.stdout.write((await usage()) + '\n');
    break;
  default:
    process.stderr.write(`sysmonstm: unknown command "${command}"\n\n${await usage()}\n`);
    process.exit(2);
}
