// Composes the hub: storage (history + state + events), the ingest and fleet gRPC services on an
// HTTP/2 server, the REST/WS gateway with the local dashboard, and the edge forwarder when configured.
// One idempotent close(), in order: stop accepting, abort streams, flush history, close Redis, close
// the database.
import { mkdirSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Server } from 'node:http';
import type { HubConfig } from './config.ts';
import { createEdgeForwarder } from './edge/edge-forwarder.ts';
import type { EventBus } from './events/event-bus.ts';
import { createMemoryEvents } from './events/memory-events.ts';
import { createRedisEvents } from './events/redis-events.ts';
import { createFleetQuery } from './fleet/fleet-query.ts';
import { createFleetView } from './fleet/fleet-view.ts';
import { createFleetService } from './fleet-service.ts';
import { createHttpApp } from './gateway/http-app.ts';
import { attachLiveSocket } from './gateway/live-socket.ts';
import { createHistoryWriter } from './history/history-writer.ts';
import { openHistory } from './history/open-history.ts';
import { createIngestService } from './ingest-service.ts';
import type { Logger } from './log.ts';
import { createRedisGateway, type RedisGateway } from './redis.ts';
import { createRoutes } from './routes.ts';
import { createMemoryState } from './state/memory-state.ts';
import { createRedisState } from './state/redis-state.ts';
import type { StateStore } from './state/state-store.ts';
import { LIMITS } from './validate-report.ts';

export const DEFAULT_WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');
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

export async function startHub(config: HubConfig, options: HubOptions): Promise<Hub> {
  const log = options.log;
  const startedAt = Date.now();
  mkdirSync(config.dataDir, { recursive: true });

  const { store: history, client: db } = await openHistory({
    timescaleUrl: config.timescaleUrl,
    dataDir: config.dataDir,
    retention: config.retention,
    log,
  });

  let redis: RedisGateway | undefined;
  let state: StateStore;
  let events: EventBus;
  if (config.redisUrl) {
    redis = createRedisGateway(config.redisUrl, log);
    state = createRedisState(redis.command, { prefix: options.redisPrefix });
    events = createRedisEvents(redis.command, () => redis!.dedicated('events'), log, { prefix: options.redisPrefix });
    log.info('state: Redis');
  } else {
    state = createMemoryState();
    events = createMemoryEvents(log);
    log.info('state: in memory (set REDIS_URL to share state between hubs)');
  }

  const writer = createHistoryWriter(history, { flushIntervalMs: config.historyFlushIntervalMs, log });
  const fleetView = await createFleetView({ state, events, log });
  const fleetQuery = createFleetQuery({ state, history });
  const ingest = createIngestService({ state, events, history, writer, log, maxMachines: config.maxMachines });

  const shutdown = new AbortController();
  const grpcServer = http2.createServer(
    connectNodeAdapter({
      routes: createRoutes({ ingest, fleet: createFleetService(fleetQuery) }),
      readMaxBytes: LIMITS.maxMessageBytes,
      shutdownSignal: shutdown.signal,
    }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  grpcServer.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });

  const app = createHttpApp({
    fleet: fleetQuery,
    log,
    webRoot: options.webRoot ?? DEFAULT_WEB_ROOT,
    ready: async () => ({ history: await history.ping(), state: await state.ping() }),
    info: () => ({ uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), history: history.path, state: state.kind }),
  });
  const httpServer = createAdaptorServer({ fetch: app.fetch }) as Server;
  const live = attachLiveSocket(httpServer, { fleet: fleetView, pushIntervalMs: config.livePushIntervalMs, log });

  const forwarder =
    config.edgeUrl && config.edgeApiKey
      ? createEdgeForwarder({ url: config.edgeUrl, apiKey: config.edgeApiKey, pushIntervalMs: config.edgePushIntervalMs, source: fleetView, log })
      : undefined;
  forwarder?.start();

  const maintenance = setInterval(() => {
    history.maintain(Date.now()).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'history maintenance failed'));
  }, MAINTENANCE_INTERVAL_MS);
  maintenance.unref();

  const grpcPort = await listen(grpcServer, config.grpcPort, config.grpcHost);
  const httpPort = await listen(httpServer, config.httpPort, config.httpHost);
  log.info({ grpc: `${config.grpcHost}:${grpcPort}`, http: `http://${config.httpHost}:${httpPort}` }, 'hub listening');

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
    stats: () => ({ ingest: { ...ingest.stats }, viewers: live.viewers, machines: [...fleetView.current()].length }),
    close() {
      closing ??= (async () => {
        clearInterval(maintenance);
        await step('stop accepting', () => {
          grpcServer.close();
          httpServer.close();
        });
        await step('abort streams', async () => {
          shutdown.abort();
          await new Promise((r) => setTimeout(r, 50));
          for (const s of sessions) s.close();
          setTimeout(() => {
            for (const s of sessions) s.destroy();
          }, 2000).unref();
        });
        await step('close viewers', () => live.close());
        await step('close forwarder', () => forwarder?.close());
        await step('flush history', () => writer.close());
        await step('close fleet view', () => fleetView.close());
        await step('close events', () => events.close());
        await step('close state', () => state.close());
        await step('close redis', () => redis?.close());
        await step('close history', () => history.close());
        await step('close database', () => db.close());
        log.info('hub stopped');
      })();
      return closing;
    },
  };
}
