// FleetCoordinator: with RELAY_SHARDS > 1, a view's hub socket ends here (one coordinator per view,
// named view:<slug>) instead of on a relay. Each hub frame is forwarded by RPC to every relay shard of
// the view (view:<slug>:0 … view:<slug>:N-1), which validate, merge and fan it out to their share of the
// viewers. Calls on one stub are delivered in order, so shards see the frames in the order the hub sent
// them. Like a relay, it refuses fleet frames on a socket that has not begun with the view's config
// frame. The coordinator holds no fleet state of its own.
//
// A shard that failed a call (it was reset, or overloaded) is made visible and repaired: the failure is
// logged and counted (shardFailures), the cached stubs are dropped (a stub that saw an exception stays
// broken) and the hub is asked for a fresh snapshot (`resync`), so the shard catches up; its viewers,
// dropped if it was reset, reconnect and start from that snapshot.
// Hub liveness: the hub's pings are answered here by the runtime, so the shards would never see them
// and would show "live data paused" whenever the fleet is quiet. While a hub socket is open, an alarm
// every HUB_SILENT_AFTER_MS / 3 (at most 20 s) tells every shard when the hub was last heard
// (hubLiveness RPC), and once more when the socket closes (the view is kept in storage for that: a
// closed socket is no longer listed to read it from), so viewers see the hub leave at once.
import { DurableObject } from 'cloudflare:workers';
import { relayShard, relayShardName } from './relay-shards.ts';
import { encodeRelayError, frameType } from '../proto/view-frames.ts';
import { parseRelayConfig, type RelayConfig } from './relay-config.ts';
import type { FleetRelay } from './fleet-relay.ts';
import { emptyRelayStats, type RelayStats } from './relay-stats.ts';

/** Storage key of the view this coordinator serves. */
const VIEW_KEY = 'view';

/** The hub socket: the view it was opened for and whether its config frame has been taken. */
interface HubSocket {
  view: string;
  configured: boolean;
}

export class FleetCoordinator extends DurableObject<Env> {
  private readonly config: RelayConfig;
  private readonly counters: RelayStats;
  private readonly shards = new Map<string, DurableObjectStub<FleetRelay>[]>();
  /** Relay ms of the last hub frame (pings are read from the runtime). */
  private frameAtMs = 0;
  private alarmSet = false;
  /** The view this coordinator serves (one coordinator per view), as its hub sockets name it; also in
   *  storage (VIEW_KEY), so a close seen after hibernation, with no hub socket left to read it from,
   *  still tells the view's shards at once. */
  private view: string | null = null;

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
    const url = new URL(request.url);
    if (url.pathname !== '/hub') return Response.json({ error: 'the coordinator only accepts the hub' }, { status: 404 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, ['hub']);
    const view = url.searchParams.get('view') ?? '';
    server.serializeAttachment({ view, configured: false } satisfies HubSocket);
    if (this.view !== view) {
      this.view = view;
      await this.ctx.storage.put(VIEW_KEY, view);
    }
    this.counters.hubConnects++;
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.counters.hubFramesIn++;
    this.frameAtMs = Date.now();
    if (!this.alarmSet) await this.scheduleLiveness();
    const socket = (ws.deserializeAttachment() as HubSocket | null) ?? { view: '', configured: false };
    let error: string | null = null;
    let resync = false;
    if (typeof message !== 'string') error = 'binary frames are not accepted; send the JSON fleet format';
    else if (message.length > this.config.maxIngestFrameChars) {
      error = `frame of ${message.length} characters exceeds MAX_INGEST_FRAME_BYTES (${this.config.maxIngestFrameChars}); send the snapshot in parts`;
    } else if (!socket.configured && frameType(message) !== 'c' && frameType(message) !== 'x') {
      error = 'send the view config frame {"t":"c",...} first on every connection (proto/view-frames.ts)';
    } else {
      // Marked before the RPCs: the next frame may be delivered while they are under way. A config the
      // shards refuse leaves them without one, and they refuse what follows themselves.
      if (!socket.configured && frameType(message) === 'c') ws.serializeAttachment({ ...socket, configured: true } satisfies HubSocket);
      const shards = this.shardStubs(socket.view);
      this.counters.rpcCallsOut += shards.length;
      const results = await Promise.allSettled(shards.map((shard) => shard.ingest(message, socket.view)));
      const failures: string[] = [];
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          failures.push(`${relayShardName(socket.view, i)}: ${String(r.reason)}`);
          // The shard missed this frame: new stubs, and a snapshot for everyone puts it back in step.
          this.counters.shardFailures = (this.counters.shardFailures ?? 0) + 1;
          this.shards.delete(socket.view);
          resync = true;
          console.error(`fleet coordinator: ${relayShardName(socket.view, i)} failed a frame (${String(r.reason)}); asking the hub for a snapshot`);
        }
        else if (r.value !== null) {
          failures.push(`${relayShardName(socket.view, i)}: ${r.value.error}`);
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
      ws.send(encodeRelayError({ error, resync }));
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
    await this.tellLiveness(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.tellLiveness(ws);
  }

  override async alarm(): Promise<void> {
    this.alarmSet = false;
    this.counters.alarmsRun++;
    await this.tellLiveness();
    if (this.ctx.getWebSockets('hub').length > 0) await this.scheduleLiveness();
  }

  private async scheduleLiveness(): Promise<void> {
    this.alarmSet = true;
    await this.ctx.storage.setAlarm(Date.now() + Math.min(20_000, Math.floor(this.config.hubSilentAfterMs / 3)));
    this.counters.alarmsSet++;
  }

  /** Tells every shard of the view when the hub was last heard and whether a socket is open. */
  private async tellLiveness(closing?: WebSocket): Promise<void> {
    const sockets = this.ctx.getWebSockets('hub');
    let heardAtMs = this.frameAtMs;
    let connected = false;
    let view: string | null = null;
    for (const ws of sockets) {
      view ??= ((ws.deserializeAttachment() as HubSocket | null)?.view ?? null);
      if (ws === closing) continue;
      connected = true;
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws);
      if (pinged !== null) heardAtMs = Math.max(heardAtMs, pinged.getTime());
    }
    // The runtime lists no closed socket: when the last one closes, the view is the object's own.
    view ??= this.view ?? (await this.ctx.storage.get<string>(VIEW_KEY)) ?? null;
    if (view === null) return;
    this.view = view;
    const shards = this.shardStubs(view);
    this.counters.rpcCallsOut += shards.length;
    const results = await Promise.allSettled(shards.map((shard) => shard.hubLiveness(heardAtMs, connected)));
    if (results.some((r) => r.status === 'rejected')) this.shards.delete(view);
  }

  async stats(): Promise<RelayStats> {
    this.counters.rpcCalls++;
    return { ...this.counters, hubs: this.ctx.getWebSockets('hub').length };
  }

  private shardStubs(view: string): DurableObjectStub<FleetRelay>[] {
    let stubs = this.shards.get(view);
    if (stubs === undefined) {
      stubs = Array.from({ length: this.config.relayShards }, (_, i) => relayShard(this.env, view, i));
      this.shards.set(view, stubs);
    }
    return stubs;
  }
}
