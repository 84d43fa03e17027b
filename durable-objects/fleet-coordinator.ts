// FleetCoordinator: with RELAY_SHARDS > 1, the hub's socket ends here instead of on a relay. Each hub
// frame is forwarded by RPC to every relay shard (relay-0 … relay-N-1), which validate, merge and fan
// it out to their share of the viewers. Calls on one stub are delivered in order, so shards see the
// frames in the order the hub sent them. The coordinator holds no fleet state of its own.
import { DurableObject } from 'cloudflare:workers';
import { relayShard, type Env } from '../worker/env.ts';
import { parseRelayConfig, type RelayConfig } from '../worker/relay-config.ts';
import type { FleetRelay } from './fleet-relay.ts';
import { emptyRelayStats, type RelayStats } from './relay-stats.ts';

export class FleetCoordinator extends DurableObject<Env> {
  private readonly config: RelayConfig;
  private readonly counters: RelayStats;
  private shards: DurableObjectStub<FleetRelay>[] | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseRelayConfig(env as unknown as Record<string, unknown>);
    this.counters = emptyRelayStats('coordinator', ctx.id.name ?? ctx.id.toString(), Date.now());
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  override async fetch(request: Request): Promise<Response> {
    this.counters.fetches++;
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json({ error: 'expected a WebSocket upgrade' }, { status: 426 });
    }
    if (new URL(request.url).pathname !== '/hub') return Response.json({ error: 'the coordinator only accepts the hub' }, { status: 404 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, ['hub']);
    this.counters.hubConnects++;
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.counters.hubFramesIn++;
    let error: string | null = null;
    let resync = false;
    if (typeof message !== 'string') error = 'binary frames are not accepted; send the JSON fleet format';
    else if (message.length > this.config.maxIngestFrameChars) {
      error = `frame of ${message.length} characters exceeds MAX_INGEST_FRAME_BYTES (${this.config.maxIngestFrameChars})`;
    } else {
      const shards = this.shardStubs();
      this.counters.rpcCallsOut += shards.length;
      const results = await Promise.allSettled(shards.map((shard) => shard.ingest(message)));
      const failures: string[] = [];
      results.forEach((r, i) => {
        if (r.status === 'rejected') failures.push(`relay-${i}: ${String(r.reason)}`);
        else if (r.value !== null) {
          failures.push(`relay-${i}: ${r.value.error}`);
          // One shard that lost the numbering is enough: a snapshot is harmless to the others.
          resync ||= r.value.resync === true;
        }
      });
      if (failures.length > 0) error = failures.join('; ');
    }
    if (error === null) {
      this.counters.framesAccepted++;
      return;
    }
    this.counters.framesRejected++;
    try {
      ws.send(JSON.stringify(resync ? { t: 'e', error, resync } : { t: 'e', error }));
    } catch {
      /* hub gone */
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      /* already closed */
    }
  }

  async stats(): Promise<RelayStats> {
    this.counters.rpcCalls++;
    return { ...this.counters, hubs: this.ctx.getWebSockets('hub').length };
  }

  private shardStubs(): DurableObjectStub<FleetRelay>[] {
    this.shards ??= Array.from({ length: this.config.relayShards }, (_, i) => relayShard(this.env, i));
    return this.shards;
  }
}
