// FleetRelay: the Durable Object that fans the live fleet out to public viewers.
//
// - Viewers and the hub connect with the WebSocket Hibernation API (ctx.acceptWebSocket, handlers on
//   the class); "ping" is answered with "pong" by setWebSocketAutoResponse without waking the object.
// - A hub frame (over the hub socket, or by RPC from the coordinator when sharded) is validated,
//   merged into the in-memory RelayFleet, encoded once and the same text sent to every viewer.
// - A new viewer first receives the full snapshot, then deltas. Whatever a viewer sends is ignored,
//   but counted: past VIEWER_MESSAGES_PER_MINUTE (or one frame above 1 KiB) its socket is closed.
// - Per client address (CF-Connecting-IP): at most MAX_VIEWERS_PER_IP sockets (counted by the runtime
//   through a tag) and VIEWER_CONNECTS_PER_MINUTE handshakes; more are answered 429 with Retry-After.
// - The snapshot is checkpointed to SQLite by the alarm, at most every CHECKPOINT_INTERVAL_MS and only
//   when something changed (storage writes are what cost money); the same alarm sweeps machines the
//   relay has not heard of for OFFLINE_AFTER_MS to offline. The constructor restores the checkpoint.
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../worker/env.ts';
import { toEdgeMachineList, type EdgeMachineSummary } from '../worker/machine-summary.ts';
import { parseRelayConfig, type RelayConfig } from '../worker/relay-config.ts';
import { FleetResyncError } from '../proto/delta.ts';
import type { RecentPoint } from './recent-rings.ts';
import { RelayFleet, splitIntoChunks } from './relay-fleet.ts';
import { emptyRelayStats, type RelayStats } from './relay-stats.ts';
import { clientAddress, ConnectLimiter, fullBucket, perMinute, takeToken, type Bucket, type RateLimit } from './viewer-limits.ts';

const VIEWER_TAG = 'viewer';
const HUB_TAG = 'hub';
/** A viewer frame larger than this closes the socket (a dashboard sends only "ping"). */
const MAX_VIEWER_FRAME_CHARS = 1024;
const addressTag = (address: string) => `ip:${address}`;

/** What each viewer socket carries through hibernation: its address and its frame allowance. */
interface ViewerAttachment {
  address: string;
  bucket: Bucket;
}
/** ≤ 1.5 MB of UTF-8 per row even if every character needed 3 bytes; the row limit is 2 MB. */
const CHECKPOINT_CHUNK_CHARS = 500_000;

/** Why a hub frame was refused; `resync` asks the hub for a fresh snapshot. Sent back as {"t":"e",...}. */
export interface FrameRejection {
  error: string;
  resync?: boolean;
}

interface CheckpointRow extends Record<string, SqlStorageValue> {
  part: number;
  body: string;
  saved_at_ms: number;
  parts: number;
}

export class FleetRelay extends DurableObject<Env> {
  private readonly config: RelayConfig;
  private readonly fleet: RelayFleet;
  private readonly counters: RelayStats;
  private dirty = false;
  private alarmAtMs: number | null = null;
  private readonly connectLimiter: ConnectLimiter;
  private readonly viewerFrames: RateLimit;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseRelayConfig(env as unknown as Record<string, unknown>);
    this.fleet = new RelayFleet({
      maxMachines: this.config.maxMachines,
      offlineAfterMs: this.config.offlineAfterMs,
      recentPoints: this.config.recentPoints,
    });
    this.counters = emptyRelayStats('relay', ctx.id.name ?? ctx.id.toString(), Date.now());
    this.connectLimiter = new ConnectLimiter(perMinute(this.config.viewerConnectsPerMinute));
    this.viewerFrames = perMinute(this.config.viewerMessagesPerMinute);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS checkpoint (part INTEGER PRIMARY KEY, body TEXT NOT NULL, saved_at_ms INTEGER NOT NULL, parts INTEGER NOT NULL)',
    );
    this.restore();
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAtMs = await ctx.storage.getAlarm();
      // Machines silent since before the restart may already be due to turn offline.
      const sweep = this.fleet.sweep(Date.now());
      if (sweep) this.broadcast(sweep);
      await this.ensureAlarm(Date.now());
    });
  }

  // ---- WebSocket upgrades (from the Worker, which has already authenticated the hub) -------------

  override async fetch(request: Request): Promise<Response> {
    this.counters.fetches++;
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json({ error: 'expected a WebSocket upgrade' }, { status: 426 });
    }
    const path = new URL(request.url).pathname;
    if (path === '/viewer') {
      if (this.ctx.getWebSockets(VIEWER_TAG).length >= this.config.maxViewersPerShard) {
        return Response.json({ error: 'too many viewers on this relay; try again' }, { status: 503 });
      }
      const now = Date.now();
      const address = clientAddress(request.headers.get('CF-Connecting-IP'));
      if (this.ctx.getWebSockets(addressTag(address)).length >= this.config.maxViewersPerIp) {
        this.counters.viewersRefused++;
        return Response.json(
          { error: `too many open connections from your address (at most ${this.config.maxViewersPerIp}); close some and try again` },
          { status: 429, headers: { 'Retry-After': '30' } },
        );
      }
      const attempt = this.connectLimiter.attempt(address, now);
      if (!attempt.allowed) {
        this.counters.viewersRefused++;
        return Response.json(
          { error: `too many connection attempts from your address (at most ${this.config.viewerConnectsPerMinute} a minute); try again later` },
          { status: 429, headers: { 'Retry-After': String(attempt.retryAfterSeconds) } },
        );
      }
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [VIEWER_TAG, addressTag(address)]);
      server.serializeAttachment({ address, bucket: fullBucket(this.viewerFrames, now) } satisfies ViewerAttachment);
      server.send(this.fleet.snapshotText());
      this.counters.viewerConnects++;
      this.counters.viewerFramesOut++;
      return new Response(null, { status: 101, webSocket: client });
    }
    if (path === '/hub') {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [HUB_TAG]);
      this.counters.hubConnects++;
      return new Response(null, { status: 101, webSocket: client });
    }
    return Response.json({ error: `no such relay endpoint: ${path}` }, { status: 404 });
  }

  // ---- Hibernation handlers ------------------------------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.ctx.getTags(ws).includes(HUB_TAG)) {
      this.counters.viewerFramesIn++; // read-only: never parsed, never broadcast, only counted
      this.limitViewer(ws, message);
      return;
    }
    this.counters.hubFramesIn++;
    const rejection = await this.acceptHubFrame(message);
    if (rejection !== null) {
      try {
        ws.send(JSON.stringify({ t: 'e', ...rejection }));
      } catch {
        /* the hub went away; it will resend a snapshot when it reconnects */
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      /* already closed */
    }
    if (this.ctx.getTags(ws).includes(HUB_TAG) && this.dirty) this.checkpoint(Date.now());
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    if (this.ctx.getTags(ws).includes(HUB_TAG) && this.dirty) this.checkpoint(Date.now());
  }

  override async alarm(): Promise<void> {
    this.alarmAtMs = null;
    this.counters.alarmsRun++;
    const now = Date.now();
    const sweep = this.fleet.sweep(now);
    if (sweep) this.broadcast(sweep);
    if (this.dirty) this.checkpoint(now);
    await this.ensureAlarm(now);
  }

  // ---- RPC (the coordinator and the Worker) --------------------------------------------------------

  /** A hub frame forwarded by the coordinator. Returns null when accepted, else why it was rejected. */
  async ingest(frame: string): Promise<FrameRejection | null> {
    this.counters.rpcCalls++;
    return this.acceptHubFrame(frame);
  }

  async snapshot(): Promise<string> {
    this.counters.rpcCalls++;
    return this.fleet.snapshotText();
  }

  async machines(): Promise<EdgeMachineSummary[]> {
    this.counters.rpcCalls++;
    return toEdgeMachineList(this.fleet.views());
  }

  /** The last points the relay holds for one machine (memory only; empty after a restart). */
  async recent(id: string, limit: number): Promise<RecentPoint[] | null> {
    this.counters.rpcCalls++;
    return this.fleet.recentPoints(id, limit) ?? null;
  }

  async stats(): Promise<RelayStats> {
    this.counters.rpcCalls++;
    return {
      ...this.counters,
      viewers: this.ctx.getWebSockets(VIEWER_TAG).length,
      hubs: this.ctx.getWebSockets(HUB_TAG).length,
      machines: this.fleet.size,
    };
  }

  // ---- internals -----------------------------------------------------------------------------------

  private async acceptHubFrame(message: string | ArrayBuffer): Promise<FrameRejection | null> {
    if (typeof message !== 'string') {
      this.counters.framesRejected++;
      return { error: 'binary frames are not accepted; send the JSON fleet format' };
    }
    if (message.length > this.config.maxIngestFrameChars) {
      this.counters.framesRejected++;
      return { error: `frame of ${message.length} characters exceeds MAX_INGEST_FRAME_BYTES (${this.config.maxIngestFrameChars})` };
    }
    const now = Date.now();
    let broadcast: string | null;
    try {
      broadcast = this.fleet.ingest(message, now).broadcast;
    } catch (err) {
      this.counters.framesRejected++;
      // Out of step with the hub's numbering (this object restarted): ask the hub for a snapshot.
      return err instanceof FleetResyncError ? { error: err.message, resync: true } : { error: (err as Error).message };
    }
    this.counters.framesAccepted++;
    this.dirty = true;
    if (broadcast !== null) this.broadcast(broadcast);
    await this.ensureAlarm(now);
    return null;
  }

  /** Closes a viewer socket that sends a frame above 1 KiB or more frames than it is allowed. */
  private limitViewer(ws: WebSocket, message: string | ArrayBuffer): void {
    const size = typeof message === 'string' ? message.length : message.byteLength;
    const attachment = ws.deserializeAttachment() as ViewerAttachment | null;
    const taken = takeToken(attachment?.bucket ?? fullBucket(this.viewerFrames, Date.now()), this.viewerFrames, Date.now());
    if (size <= MAX_VIEWER_FRAME_CHARS && taken.allowed) {
      ws.serializeAttachment({ address: attachment?.address ?? 'unknown', bucket: taken.bucket } satisfies ViewerAttachment);
      return;
    }
    this.counters.viewersClosedForAbuse++;
    try {
      ws.close(size > MAX_VIEWER_FRAME_CHARS ? 1009 : 1008, size > MAX_VIEWER_FRAME_CHARS ? 'frame too large' : 'viewers are read-only; too many frames');
    } catch {
      /* already closing */
    }
  }

  /** The same text to every viewer; a socket that cannot take it is closed by the runtime. */
  private broadcast(text: string): void {
    const viewers = this.ctx.getWebSockets(VIEWER_TAG);
    for (const ws of viewers) {
      try {
        ws.send(text);
        this.counters.viewerFramesOut++;
      } catch {
        /* closing or closed socket */
      }
    }
    this.counters.broadcasts++;
  }

  /** One alarm does both jobs: the next checkpoint while dirty, the next sweep while machines are live. */
  private async ensureAlarm(now: number): Promise<void> {
    if (this.alarmAtMs !== null) return;
    if (!this.dirty && !this.fleet.hasLiveMachines()) return;
    const at = now + this.config.checkpointIntervalMs;
    await this.ctx.storage.setAlarm(at);
    this.alarmAtMs = at;
    this.counters.alarmsSet++;
  }

  private checkpoint(now: number): void {
    const text = this.fleet.checkpointText();
    const chunks = splitIntoChunks(text, CHECKPOINT_CHUNK_CHARS);
    const sql = this.ctx.storage.sql;
    let rows = 0;
    this.ctx.storage.transactionSync(() => {
      chunks.forEach((body, part) => {
        rows += sql.exec(
          'INSERT INTO checkpoint (part, body, saved_at_ms, parts) VALUES (?, ?, ?, ?) ' +
            'ON CONFLICT(part) DO UPDATE SET body = excluded.body, saved_at_ms = excluded.saved_at_ms, parts = excluded.parts',
          part,
          body,
          now,
          chunks.length,
        ).rowsWritten;
      });
      rows += sql.exec('DELETE FROM checkpoint WHERE part >= ?', chunks.length).rowsWritten;
    });
    this.dirty = false;
    this.counters.checkpoints++;
    this.counters.rowsWritten += rows;
    this.counters.lastCheckpointChars = text.length;
  }

  private restore(): void {
    const cursor = this.ctx.storage.sql.exec<CheckpointRow>('SELECT part, body, saved_at_ms, parts FROM checkpoint ORDER BY part');
    const rows = cursor.toArray();
    this.counters.rowsRead += cursor.rowsRead;
    if (rows.length === 0) return;
    const complete = rows.length === rows[0].parts && rows.every((r, i) => r.part === i && r.saved_at_ms === rows[0].saved_at_ms);
    if (!complete) {
      console.error(`fleet relay: checkpoint is incomplete (${rows.length} of ${rows[0].parts} parts); starting empty`);
      return;
    }
    try {
      this.fleet.restore(rows.map((r) => r.body).join(''), rows[0].saved_at_ms);
    } catch (err) {
      console.error(`fleet relay: checkpoint could not be restored (${(err as Error).message}); starting empty`);
    }
  }
}
