// What the hub says first, before the few seconds its start may take: where the dashboard is, that a
// first start sets up the embedded database, and a warning when collectors are not checked on a gRPC
// port others can reach. Pure: the caller says whether the embedded database exists yet.
import path from 'node:path';
import type { HubConfig } from './config.ts';

export interface StartupNote {
  level: 'info' | 'warn';
  msg: string;
  fields?: Record<string, unknown>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** The dashboard's address as a browser on this machine opens it. */
export function dashboardUrl(httpHost: string, httpPort: number): string {
  const host = httpHost === '0.0.0.0' || httpHost === '::' ? '127.0.0.1' : httpHost.includes(':') ? `[${httpHost}]` : httpHost;
  return `http://${host}:${httpPort}/`;
}

export function startupNotes(config: HubConfig, system: { embeddedDatabaseExists: boolean }): StartupNote[] {
  const notes: StartupNote[] = [];
  // Port 0: the address is known only once the port is open (logged then).
  if (config.httpPort !== 0) notes.push({ level: 'info', msg: `Dashboard: ${dashboardUrl(config.httpHost, config.httpPort)}` });
  if (!config.timescaleUrl && !system.embeddedDatabaseExists) {
    const dir = path.join(config.dataDir, 'pgdata');
    notes.push({ level: 'info', msg: `first start: setting up the embedded database in ${dir} (a few seconds)` });
  }
  if (!config.collectorToken && !config.collectorTokensFile && !LOOPBACK_HOSTS.has(config.grpcHost)) {
    notes.push({
      level: 'warn',
      msg: `no COLLECTOR_TOKEN: anyone who reaches ${config.grpcHost}:${config.grpcPort} can send metrics as any machine; set COLLECTOR_TOKEN (or COLLECTOR_TOKENS_FILE) on a network you do not trust`,
    });
  }
  return notes;
}
