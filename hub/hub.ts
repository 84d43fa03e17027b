// Composes the hub: storage (history + state + events), the ingest and fleet gRPC services on an
// HTTP/2 server, the REST/WS gateway with the local dashboard, and the edge forwarder when configured.
// One idempotent close(), in order: stop accepting, abort streams, flush history, close Redis, close
// the database.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Server } from 'node:http';
import type { HubConfig } from './config.ts';
import { IncompatibleDataDirError, type PgliteEngine } from './db.ts';
import { createEdgeViews } from './edge/edge-views.ts';
import { openViewRegistry } from './views/view-registry.ts';
import { createViewStore } from './views/view-store.ts';
import type { EventBus } from './events/event-bus.ts';
import { createMemoryEvents } from './events/memory-events.ts';
import { createRedisEvents } from './events/redis-events.ts';
import { createFallbackEvents } from './events/fallback-events.ts';
import { createFleetQuery } from './fleet/fleet-query.ts';
import { createFleetView } from './fleet/fleet-view.ts';
import { createMachineForgetter } from './fleet/machine-forgetter.ts';
import { createMachineSettingsStore } from './fleet/machine-settings.ts';
import { createSettingsFanout } from './fleet/settings-fanout.ts';
import { createFleetService } from './fleet-service.ts';
import { applyConnectionWindow, grpcServerSettings } from './grpc-flow-control.ts';
import { createBackupScheduler, type BackupScheduler } from './backup/backup-scheduler.ts';
import { embeddedTarget, pgDumpTarget } from './backup/backup-targets.ts';
import { createHttpApp } from './gateway/http-app.ts';
import { startAlerting } from './alerts/alerting.ts';
import type { Resolve } from './alerts/notify-destination.ts';
import { createConfigService } from './config-service.ts';
import { peerAddressKey, peerContextValues } from './gateway/admin-auth.ts';
import { createContextValues } from '@connectrpc/connect';
import { createHubMetrics } from './gateway/prometheus-metrics.ts';
import { attachLiveSocket } from './gateway/live-socket.ts';
import { createOriginGuard } from './gateway/origin-guard.ts';
import { createHistoryWriter } from './history/history-writer.ts';
import { openHistorySpool } from './history/history-spool.ts';
import { adoptOrphanSpools } from './history/orphan-spools.ts';
import { openHistory } from './history/open-history.ts';
import { limitConnections } from './connection-limits.ts';
import { createIngestService } from './ingest-service.ts';
import { createIngestH2 } from './ingest-h2.ts';
import { grpcErrorInterceptor } from './grpc-errors.ts';
import type { Logger } from './log.ts';
import { createRedisGateway, type RedisGateway } from './redis.ts';
import { createRedisLease } from './redis-lease.ts';
import { createLoginThrottle, LOGIN_FAILURE_BURST, LOGIN_FAILURES_PER_MINUTE } from './gateway/login-throttle.ts';
import { createSharedRevocations } from './gateway/shared-revocations.ts';
import { createSignedSessionStore, sessionKey } from './gateway/signed-session-store.ts';
import type { HubSlot } from './hub-processes.ts';
import { createRoutes } from './routes.ts';
import { createMemoryState } from './state/memory-state.ts';
import { createRedisState } from './state/redis-state.ts';
import { createFallbackState, type FallbackStateStore } from './state/fallback-state.ts';
import { createRedisProbe } from './state/redis-probe.ts';
import { loadHubSecurity } from './security.ts';
import type { StateStore } from './state/state-store.ts';
import { LIMITS } from './validate-report.ts';
import { StartupError } from './errors.ts';

// Both from the package root: this file and the bundle dist/hub.mjs sit one folder below it.
export const DEFAULT_WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');
const HUB_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const MAINTENANCE_INTERVAL_MS = 60_000;

export interface Hub {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly historyPath: string;
  readonly stateKind: string;
  stats(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface HubOptions {
  log: Logger;
  /** Key prefix in Redis (tests isolate themselves with their own). */
  redisPrefix?: string;
  webRoot?: string;
  /** Wait before the first scheduled backup (default 60 s; tests shorten it). */
  backupFirstDelayMs?: number;
  /** Database pool size with TIMESCALE_URL (default 10; a single-client test server needs 1). */
  dbMaxConnections?: number;
  /** Name resolution for the notification private-address check (tests inject one; default the system's). */
  notifyResolve?: Resolve;
  /**
   * The peer address of a gRPC call; default the TCP peer (`req.socket.remoteAddress`). Tests, whose
   * traffic is all loopback, use it to play a remote peer.
   */
  grpcPeerAddress?: (req: http2.Http2ServerRequest) => string | undefined;
  /** The embedded PGlite build (default: upstream @electric-sql/pglite); the benchmarks compare the TimescaleDB build. */
  embeddedEngine?: PgliteEngine;
  /**
   * Which of HUB_PROCESSES this process is (default the only one): each has its own history spool,
   * slot 1 runs the scheduled backups, and the edge forwarder runs under a Redis lease (one per fleet).
   */
  slot?: HubSlot;
}

function listen(server: Server | http2.Http2Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** DATA_DIR must exist and take a write: a read-only, full or foreign directory stops the start here, named. */
function checkDataDir(dir: string): void {
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, 'sysmonstm', { flush: true });
    rmSync(probe, { force: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = { EROFS: 'is on a read-only file system', ENOSPC: 'is full (no space left on the device)', EDQUOT: 'is over its disk quota', EACCES: 'is not writable by this user', EPERM: 'is not writable by this user', ENOTDIR: 'is not a directory', EEXIST: 'is not a directory' }[e.code ?? ''];
    throw new StartupError(`DATA_DIR: ${path.resolve(dir)} ${why ?? 'cannot be written'} (${e.code ?? e.message}); the hub keeps its embedded database, history spool and backups there`);
  }
}

export async function startHub(config: HubConfig, options: HubOptions): Promise<Hub> {
  const log = options.log;
  const startedAt = Date.now();
  checkDataDir(config.dataDir);
  // ADMIN_TOKEN also reads the API when DASHBOARD_TOKEN is set (one Authorization header per request).
  const slot = options.slot ?? { slot: 1, count: 1 };
  // Several processes (HUB_PROCESSES): a session signed in on one is valid on all, a sign-out ends it on
  // all (shared through Redis), and each counts wrong tokens against its share of the allowance.
  const sharedSignOuts = slot.count > 1 && config.dashboardToken ? createSharedRevocations(log) : undefined;
  const security = loadHubSecurity(config, log, {
    alsoAcceptBearer: config.adminToken ? [config.adminToken] : [],
    ...(sharedSignOuts && config.dashboardToken
      ? {
          sessions: createSignedSessionStore({ key: sessionKey(config.dashboardToken), revoked: sharedSignOuts }),
          throttle: createLoginThrottle({ perMinute: LOGIN_FAILURES_PER_MINUTE / slot.count, burst: Math.max(1, Math.ceil(LOGIN_FAILURE_BURST / slot.count)) }),
        }
      : {}),
  });

  const { store: history, client: db, database } = await openHistory({
    timescaleUrl: config.timescaleUrl,
    dataDir: config.dataDir,
    retention: config.retention,
    log,
    maxConnections: options.dbMaxConnections,
    embeddedEngine: options.embeddedEngine,
  }).catch((err: unknown) => {
    if (config.timescaleUrl) throw err;
    if (err instanceof IncompatibleDataDirError) {
      // An earlier sysmonstm kept PostgreSQL 17 files (PGlite with TimescaleDB); this PGlite cannot read them (docs/operations.md).
      const dir = path.resolve(err.dataDir);
      const whose = err.found === '17' ? 'an earlier sysmonstm (PGlite with TimescaleDB, PostgreSQL 17)' : `PostgreSQL ${err.found}`;
      throw new StartupError(
        `DATA_DIR: the embedded database in ${dir} was written by ${whose}; this hub's embedded database is PostgreSQL ${err.expected} and cannot read it. Move ${dir} aside to start with an empty history, or see docs/operations.md ("Upgrading the embedded database")`,
      );
    }
    // The embedded database: truncated, corrupt, or written by something else.
    const detail = ((err as Error).message ?? String(err)).split('\n')[0].slice(0, 300);
    throw new StartupError(
      `DATA_DIR: the embedded database in ${path.resolve(config.dataDir, 'pgdata')} cannot be opened (${detail}); restore it from a backup or move it aside to start empty`,
    );
  });
  /** Readiness reads history for real: SELECT 1 answers while the metrics table cannot be read. */
  const historyReadable = async () => {
    if (!(await history.ping())) return false;
    try {
      await history.query('ready-probe', 'cpu_percent', Date.now() - 60_000, Date.now(), 'raw', { maxPoints: 1 });
      return true;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'history cannot be read; /ready answers not ready');
      return false;
    }
  };

  let redis: RedisGateway | undefined;
  let state: StateStore;
  let fallbackState: FallbackStateStore | undefined;
  let events: EventBus;
  if (config.redisUrl) {
    redis = createRedisGateway(config.redisUrl, log);
    // Redis down: ingest, the live view and alerts carry on from memory; Redis is resynced when back.
    // A failed write is told apart from an outage by a PING on a connection of its own (redis-probe.ts).
    fallbackState = createFallbackState(createRedisState(redis.command, { prefix: options.redisPrefix }), redis.command, {
      log,
      probe: createRedisProbe(redis.dedicated('probe')),
    });
    state = fallbackState;
    events = createFallbackEvents(
      createRedisEvents(redis.command, () => redis!.dedicated('events'), log, { prefix: options.redisPrefix }),
      redis.command,
      log,
    );
    if (sharedSignOuts) await sharedSignOuts.connect(redis.command, redis.dedicated('sessions'), options.redisPrefix ?? 'sysmonstm:');
    log.info('state: Redis');
  } else {
    state = createMemoryState();
    events = createMemoryEvents(log);
    log.info('state: in memory (set REDIS_URL to share state between hubs)');
  }

  // /metrics reads the parts' own stats at scrape time (the parts below exist by then).
  const metrics = createHubMetrics({
    ingest: () => ingest.stats,
    history: () => writer.stats,
    fleet: { records: () => fleetView.records(), get: (id) => fleetView.get(id) },
    viewers: () => live.viewers,
    edge: () => forwarder?.stats(),
    backup: () => backups?.stats(),
    spool: () => {
      const s = spool?.stats();
      return s && { rows: s.pendingRows, bytes: s.bytes };
    },
    startedAtMs: startedAt,
    historyPath: history.path,
    stateKind: state.kind,
    version: HUB_VERSION,
  });
  const backups: BackupScheduler | undefined =
    config.backup.intervalMs > 0 && slot.slot === 1
      ? createBackupScheduler({
          target: config.timescaleUrl ? pgDumpTarget(config.timescaleUrl) : embeddedTarget(db, config.dataDir),
          dir: config.backup.dir,
          intervalMs: config.backup.intervalMs,
          keep: config.backup.keep,
          log,
          firstDelayMs: options.backupFirstDelayMs,
        })
      : undefined;

  // Database down: batches are fsynced to DATA_DIR/history-spool (and acked), replayed when it is back.
  // One spool per process (HUB_PROCESSES): slot 1 keeps the single process's directory.
  const spoolDir = path.join(config.dataDir, slot.slot === 1 ? 'history-spool' : `history-spool-${slot.slot}`);
  const spool = config.historySpoolMaxBytes > 0 ? openHistorySpool({ dir: spoolDir, maxBytes: config.historySpoolMaxBytes, log }) : undefined;
  const writer = createHistoryWriter(metrics.timeHistoryWrites(history), { flushIntervalMs: config.historyFlushIntervalMs, log, spool });
  // Spools of processes that no longer run (HUB_PROCESSES lowered): process 1 replays them (orphan-spools.ts).
  const orphanSpools = slot.slot === 1 && config.historySpoolMaxBytes > 0 ? adoptOrphanSpools({ dataDir: config.dataDir, processCount: slot.count, store: history, log }) : undefined;
  /** What a reconnecting collector is told the hub holds: the database, plus what waits in the spools. */
  const durableHistory = { lastSeq: async (id: string) => Math.max(await history.lastSeq(id), spool?.maxSeq(id) ?? 0, orphanSpools?.maxSeq(id) ?? 0) };
  // Alerting: rules in SQL, shared state and evaluation through Redis when configured (alerts/alerting.ts).
  const alerting = await startAlerting({ db, redis, redisPrefix: options.redisPrefix, events, machines: state, log, config: config.alerts, dataDir: config.dataDir, resolve: options.notifyResolve });
  const machineStatus = { statusOf: alerting.engine.statusOf, onStatusChange: alerting.engine.onStatusChange };
  // Public views: the file's and the API's (stored with the history, shared by replicas).
  const publicViews = await openViewRegistry({ store: createViewStore(db, log), fileViews: config.publicViews, log: log.child({ part: 'views' }) });
  const fleetView = await createFleetView({ state, events, log, status: machineStatus });
  const fleetQuery = createFleetQuery({ state, history, statusOf: alerting.engine.statusOf });
  // DELETE /api/machines/{id} and the FORGET_OFFLINE_AFTER sweep (fleet/machine-forgetter.ts).
  const forgetter = createMachineForgetter({ state, events, alerts: alerting.engine, log, forgetOfflineAfterMs: config.forgetOfflineAfterMs });
  // The owner's per-machine settings (the report interval): SQL, sent in the Welcome, pushed live.
  const machineSettings = createMachineSettingsStore(db, log);
  const ingest = createIngestService({
    intervalFor: (id) => machineSettings.intervalFor(id),
    state,
    events,
    history: durableHistory,
    writer,
    auth: security.collectorAuth,
    log,
    maxMachines: config.maxMachines,
    maxReportAgeMs: config.retention.rawDays * 86_400_000,
    ackDelayMs: config.ackDelayMs,
    onPublished: (latencyMs) => metrics.observeIngestLatency(latencyMs),
  });

  // A PUT on this hub reaches the collector on whichever hub holds its stream (fleet/settings-fanout.ts).
  const settingsFanout = createSettingsFanout({
    push: (id, settings) => ingest.pushSettings(id, settings),
    log,
    redis: redis ? { command: redis.command, subscriber: redis.dedicated('settings'), prefix: options.redisPrefix } : undefined,
  });

  // GET/PUT /api/machines/{id}/settings and their gRPC twins (ConfigService).
  const settingsApi = {
    // In current state, or in history (current state in memory is empty after a restart).
    known: async (id: string) => (await state.get(id)) !== undefined || (await durableHistory.lastSeq(id)) > 0,
    get: (id: string) => machineSettings.get(id),
    put: async (id: string, settings: { intervalMs: number }) => {
      await machineSettings.put(id, settings);
      const pushed = await settingsFanout.changed(id, settings);
      log.info({ machine: id, intervalMs: settings.intervalMs, pushed }, 'machine settings changed');
    },
  };

  // A machine forgotten by any hub: this hub's memory copy and ingest cache of it go too.
  // A forgotten event published again after a Redis outage (fallback-events.ts) may find the machine
  // written back by a replica's resync meanwhile: it goes, unless it has reported since.
  const unsubscribeForgotten = events.subscribe((event) => {
    if (!event.forgotten) return;
    const id = event.record.id;
    ingest.machineForgotten(id);
    void (async () => {
      await fallbackState?.forgetLocally(id);
      const current = await state.get(id);
      if (current && current.lastSeenMs <= event.record.lastSeenMs) await state.forget(id);
    })().catch(() => {});
  });

  const shutdown = new AbortController();
  const grpcHandler = connectNodeAdapter({
    routes: createRoutes({ ingest, fleet: createFleetService(fleetQuery), config: createConfigService({ api: alerting.api, adminToken: config.adminToken, machineSettings: settingsApi }) }),
    // The peer address: alerting writes without ADMIN_TOKEN are allowed from loopback only.
    contextValues: options.grpcPeerAddress
      ? (req) => createContextValues().set(peerAddressKey, options.grpcPeerAddress!(req as http2.Http2ServerRequest))
      : peerContextValues,
    readMaxBytes: LIMITS.maxMessageBytes,
    shutdownSignal: shutdown.signal,
    // Outermost: whatever a service throws leaves as one precise gRPC code (grpc-errors.ts).
    interceptors: [grpcErrorInterceptor(), ...security.interceptors],
  });
  // The collectors' IngestService.Stream calls take the lean path (ingest-h2.ts); everything else is Connect's.
  const ingestH2 = createIngestH2({ openStream: ingest.openStream, readMaxBytes: LIMITS.maxMessageBytes, shutdownSignal: shutdown.signal, log });
  const onGrpcRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (ingestH2.accepts(req)) ingestH2.handle(req, res);
    else grpcHandler(req, res);
  };
  // GRPC_TLS_CERT/KEY: TLS on the gRPC port (collectors use an https:// hub URL).
  // A collector needs one stream; the cap bounds what a single connection can hold open. Flow control
  // (the backpressure on collectors, and its memory bound): grpc-flow-control.ts.
  const settings = grpcServerSettings;
  const grpcServer = security.tls
    ? http2.createSecureServer({ ...security.tls, allowHTTP1: false, settings, handshakeTimeout: config.grpcConnections.handshakeTimeoutMs }, onGrpcRequest)
    : http2.createServer({ settings }, onGrpcRequest);
  // Handshake and idle timeouts, connection caps per peer and in total (GRPC_* in config.ts).
  const connectionStats = limitConnections(grpcServer, config.grpcConnections, log);
  applyConnectionWindow(grpcServer);
  const sessions = new Set<http2.ServerHttp2Session>();
  grpcServer.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });

  // Host and Origin checks: no DNS-rebinding page or other site's page drives the hub (origin-guard.ts).
  const originGuard = createOriginGuard({ httpHost: config.httpHost, allowedHosts: config.allowedHosts });
  const app = createHttpApp({
    originGuard,
    fleet: fleetQuery,
    log,
    webRoot: options.webRoot ?? DEFAULT_WEB_ROOT,
    ready: async () => ({ history: await historyReadable(), state: await state.ping() }),
    // `signedIn`: the dashboard token is set, so the dashboard shows a sign-out.
    info: () => ({
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      history: history.path,
      database,
      state: state.kind,
      adminTokenRequired: config.adminToken !== undefined,
      signedIn: Boolean(security.dashboardAuth),
      process: { pid: process.pid, slot: slot.slot, of: slot.count },
    }),
    metrics,
    dashboardAuth: security.dashboardAuth,
    alerts: { api: alerting.api, adminToken: config.adminToken },
    machines: {
      forget: (id) => forgetter.forget(id, 'DELETE /api/machines/{id}'),
      adminToken: config.adminToken,
      settings: settingsApi,
    },
    publicViews: { views: publicViews, adminToken: config.adminToken, edgeUrl: config.edgeUrl },
  });
  const httpServer = createAdaptorServer({ fetch: app.fetch }) as Server;
  const live = attachLiveSocket(httpServer, {
    fleet: fleetView,
    pushIntervalMs: config.livePushIntervalMs,
    maxFrameBytes: config.edgeMaxFrameBytes,
    log,
    maxViewers: config.maxViewers,
    maxViewersPerAddress: config.maxViewersPerAddress,
    admit: (req) =>
      originGuard.checkHost(req.headers.host) ??
      originGuard.checkOrigin({ host: req.headers.host, origin: req.headers.origin, secFetchSite: req.headers['sec-fetch-site'] as string | undefined }),
    authorize: security.authorizeViewer,
  });

  // One WebSocket per public view (EDGE_URL?view=<slug>); with no view, nothing leaves the hub.
  const startForwarder = () =>
    config.edgeUrl && config.edgeApiKey
      ? createEdgeViews({
          url: config.edgeUrl,
          apiKey: config.edgeApiKey,
          pushIntervalMs: config.edgePushIntervalMs,
          maxFrameBytes: config.edgeMaxFrameBytes,
          source: fleetView,
          views: publicViews,
          log,
        })
      : undefined;
  let forwarder: ReturnType<typeof startForwarder>;
  // Several processes of one hub (HUB_PROCESSES): one forwarder for the fleet, in whichever holds the lease.
  const edgeLease =
    config.edgeUrl && slot.count > 1 && redis
      ? createRedisLease(redis.command, {
          key: `${options.redisPrefix ?? 'sysmonstm:'}edge:lease`,
          log,
          onAcquired: () => {
            forwarder = startForwarder();
            forwarder?.start();
          },
          onLost: () => {
            const lost = forwarder;
            forwarder = undefined;
            lost?.close().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'closing the edge forwarder failed'));
          },
        })
      : undefined;
  if (edgeLease) edgeLease.start();
  else {
    forwarder = startForwarder();
    forwarder?.start();
  }

  const maintenance = setInterval(() => {
    history.maintain(Date.now()).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'history maintenance failed'));
    alerting.maintain().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'alert maintenance failed'));
  }, MAINTENANCE_INTERVAL_MS);
  maintenance.unref();
  // The sweep runs a tenth of FORGET_OFFLINE_AFTER apart, between 1 s and a minute.
  let sweeping: Promise<unknown> | undefined;
  const forgetSweep =
    config.forgetOfflineAfterMs > 0
      ? setInterval(() => {
          sweeping ??= forgetter
            .sweep()
            .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'forgetting offline machines failed'))
            .finally(() => (sweeping = undefined));
        }, Math.min(MAINTENANCE_INTERVAL_MS, Math.max(1000, Math.round(config.forgetOfflineAfterMs / 10))))
      : undefined;
  forgetSweep?.unref();

  const grpcPort = await listen(grpcServer, config.grpcPort, config.grpcHost);
  const httpPort = await listen(httpServer, config.httpPort, config.httpHost);
  log.info({ grpc: `${config.grpcHost}:${grpcPort}`, http: `http://${config.httpHost}:${httpPort}` }, 'hub listening');
  backups?.start();

  let closing: Promise<void> | undefined;
  const step = async (name: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      log.error({ err, step: name }, 'shutdown step failed');
    }
  };
  return {
    httpPort,
    grpcPort,
    historyPath: history.path,
    stateKind: state.kind,
    stats: () => ({
      ingest: { ...ingest.stats },
      grpcConnections: { ...connectionStats },
      viewers: live.viewers,
      machines: [...fleetView.current()].length,
      alerts: { ...alerting.engine.stats, notifications: { ...alerting.dispatcher.stats } },
      backup: backups?.stats(),
      history: { ...writer.stats },
      historySpool: spool?.stats(),
      redis: 'stats' in state ? (state as { stats(): unknown }).stats() : undefined,
    }),
    close() {
      closing ??= (async () => {
        clearInterval(maintenance);
        if (forgetSweep) clearInterval(forgetSweep);
        unsubscribeForgotten();
        await sweeping;
        await step('stop accepting', () => {
          grpcServer.close();
          httpServer.close();
        });
        await step('abort streams', async () => {
          ingest.flushAcks(); // acks held back by ACK_DELAY go out before the streams end
          shutdown.abort();
          await new Promise((r) => setTimeout(r, 50));
          for (const s of sessions) s.close();
          setTimeout(() => {
            for (const s of sessions) s.destroy();
          }, 2000).unref();
        });
        await step('write waiting live updates', () => ingest.drainLive());
        await step('close viewers', () => live.close());
        await step('close forwarder', async () => {
          await edgeLease?.close();
          await forwarder?.close();
        });
        await step('close public views', () => publicViews.close());
        await step('stop backups', () => backups?.close());
        await step('flush history', () => writer.close());
        await step('close history spool', () => spool?.close());
        await step('close adopted history spools', () => orphanSpools?.close());
        await step('close fleet view', () => fleetView.close());
        await step('close settings channel', () => settingsFanout.close());
        await step('stop alerting', () => alerting.close());
        await step('close events', () => events.close());
        await step('close state', () => state.close());
        await step('close shared sign-outs', () => sharedSignOuts?.close());
        await step('close redis', () => redis?.close());
        await step('close history', () => history.close());
        await step('close database', () => db.close());
        log.info('hub stopped');
      })();
      return closing;
    },
  };
}
