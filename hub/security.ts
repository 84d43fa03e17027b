// The hub's security settings turned into working parts, once at start: the collector token check
// (COLLECTOR_TOKEN, COLLECTOR_TOKENS_FILE), the dashboard gate (DASHBOARD_TOKEN) for HTTP, /ws and
// the gRPC FleetService and ConfigService (grpc-access.ts), and the TLS certificate of the gRPC port
// (GRPC_TLS_CERT / GRPC_TLS_KEY). Files are read here, and an unreadable or invalid one stops the
// start with a message naming its variable.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createSecureContext } from 'node:tls';
import type { Interceptor } from '@connectrpc/connect';
import { createCollectorAuth, parseCollectorTokens, type CollectorAuth } from './collector-auth.ts';
import { ConfigError, type HubConfig } from './config.ts';
import { createDashboardAuth, type DashboardAuth } from './gateway/dashboard-auth.ts';
import type { LoginThrottle } from './gateway/login-throttle.ts';
import type { SessionStore } from './gateway/session-store.ts';
import { grpcAccessInterceptor } from './grpc-access.ts';
import type { Logger } from './log.ts';

export interface HubSecurity {
  collectorAuth: CollectorAuth | undefined;
  dashboardAuth: DashboardAuth | undefined;
  /** For the /ws handshake: undefined when no dashboard token is set. */
  authorizeViewer: ((req: IncomingMessage) => boolean) | undefined;
  /** gRPC interceptors: FleetService and ConfigService need what their REST twins need. */
  interceptors: Interceptor[];
  /** PEM certificate and key for http2.createSecureServer, or undefined for plaintext gRPC. */
  tls: { cert: Buffer; key: Buffer } | undefined;
}

function readConfigFile(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file} (${fileErrorReason(err)})`);
  }
}

/** "ENOENT: no such file or directory, open '/x'" → "no such file or directory". */
export function fileErrorReason(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  return /^[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

function tokensFromFile(file: string): Array<[string, string]> {
  const text = readConfigFile('COLLECTOR_TOKENS_FILE', file).toString('utf8');
  try {
    return parseCollectorTokens(text, file);
  } catch (err) {
    throw new ConfigError(`COLLECTOR_TOKENS_FILE: ${(err as Error).message}`);
  }
}

/** `sessions` and `throttle`: shared by the processes of HUB_PROCESSES (hub.ts); default one process's own. */
export function loadHubSecurity(
  config: HubConfig,
  log: Logger,
  options: { alsoAcceptBearer?: readonly string[]; sessions?: SessionStore; throttle?: LoginThrottle } = {},
): HubSecurity {
  const machineTokens = config.collectorTokensFile ? tokensFromFile(config.collectorTokensFile) : [];
  const collectorAuth = createCollectorAuth({ sharedToken: config.collectorToken, machineTokens });
  // Other tokens that may read too (the admin token), so their calls are not stopped at this gate.
  const dashboardAuth = config.dashboardToken ? createDashboardAuth(config.dashboardToken, options) : undefined;

  // FleetService and ConfigService need what their REST twins need (grpc-access.ts).
  const interceptors: Interceptor[] = [grpcAccessInterceptor(dashboardAuth)];

  const tls = config.grpcTls
    ? { cert: readConfigFile('GRPC_TLS_CERT', config.grpcTls.certFile), key: readConfigFile('GRPC_TLS_KEY', config.grpcTls.keyFile) }
    : undefined;
  if (tls) {
    try {
      createSecureContext(tls); // what the server would throw later, here, before anything is opened
    } catch (err) {
      throw new ConfigError(`GRPC_TLS_CERT, GRPC_TLS_KEY: not a PEM certificate and its private key (${(err as Error).message})`);
    }
  }

  log.info(
    {
      collectors: collectorAuth ? `token required${collectorAuth.machineTokens > 0 ? ` (${collectorAuth.machineTokens} per-machine)` : ''}` : 'no token (set COLLECTOR_TOKEN on an untrusted network)',
      dashboard: dashboardAuth ? 'token required' : `open to whoever reaches ${config.httpHost}`,
      grpcTls: tls ? 'on' : 'off',
    },
    'security',
  );
  return {
    collectorAuth,
    dashboardAuth,
    authorizeViewer: dashboardAuth
      ? (req) => dashboardAuth.allows({ authorization: req.headers.authorization, cookie: req.headers.cookie, address: req.socket.remoteAddress })
      : undefined,
    interceptors,
    tls,
  };
}
