// FleetRelay: the Durable Object that serves one public view (named view:<slug>:<shard>) to its viewers.
//
// - Viewers and the hub connect with the WebSocket Hibernation API (ctx.acceptWebSocket, handlers on
//   the class); "ping" is answered with "pong" by setWebSocketAutoResponse without waking the object.
// - The hub's socket for this view starts with the view config frame `c` (proto/view-frames.ts): stored
//   in SQLite only when it changed, restored in the constructor. Fleet frames before it are refused with
//   an `e` frame. A snapshot may come in parts (createSnapshotAssembler); it applies after the last part.
//   A revoke `x` forgets the view (snapshot, uptime, config) and closes its viewers with 4404; the
//   tombstone answers 404 until a new config frame re-creates the view.
// - A hub frame (over the hub socket, or by RPC from the coordinator when sharded) is validated, merged
//   into the in-memory FleetPicture, encoded once and the same text sent to every viewer.
// - A viewer of a view the relay has no config for, of a revoked view, or of a `link` view without the
//   right `?key=` (SHA-256 compared with the config's keyHash) gets 404. Its key hash stays with its
//   socket: a config with another keyHash closes old-key viewers (4403) at once.
// - A new viewer gets the snapshot (in parts when larger than a frame), then the view info `v`, the hub
//   status `h` and the uptime bitmaps `up`; then deltas, `h` whenever the hub goes silent or returns,
//   and `up` after an uptime bit changed (at most once per alarm). A viewer only sends acks of what it
//   has read (durable-objects/viewer-lag.ts): one too far behind gets `{"t":"lag"}` and nothing more,
//   resumes from a fresh snapshot when caught up, or is closed with 4408 after VIEWER_LAG_CLOSE_MS.
//   An ack that acknowledges nothing new, or anything else, is counted: past
//   VIEWER_MESSAGES_PER_MINUTE (or one frame above 1 KiB) the socket is closed.
// - Deltas: at once, unless they pass the viewers' byte allowance (VIEWER_BYTES_PER_S): then merged
//   per machine into one later frame (fleet-picture.ts), sent at the latest by the alarm.
// - Per client address (CF-Connecting-IP): at most MAX_VIEWERS_PER_IP sockets (counted by the runtime
//   through a tag) and VIEWER_CONNECTS_PER_MINUTE handshakes; more are answered 429 with Retry-After.
// - The alarm checkpoints the snapshot (with the uptime bitmaps and when the hub was last heard) at most
//   every CHECKPOINT_INTERVAL_MS and only when something changed (storage writes are what cost money;
//   the checkpoint's time doubles as "hub last heard" after a restart),
//   sweeps machines not heard of for OFFLINE_AFTER_MS to offline, notices a silent hub (HUB_SILENT_AFTER_MS)
//   and calls the dead-man webhook (DEADMAN_WEBHOOK_URL after DEADMAN_AFTER_S) once when it goes silent
//   and once when it is back. Nothing is written per push.
import { DurableObject } from 'cloudflare:workers';
import { toEdgeMachineList, type EdgeMachineSummary } from './machine-summary.ts';
import { parseRelayConfig, type RelayConfig } from './relay-config.ts';
import { FleetResyncError, type SnapshotMessage } from '../proto/delta.ts';
import {
  createSnapshotAssembler,
  decodeViewControl,
  encodeRelayError,
  frameType,
  type HubStatusFrame,
  type SnapshotAssembler,
  type UptimeFrame,
  type ViewConfigFrame,
  type ViewInfoFrame,
} from '../proto/view-frames.ts';
import { deadmanRequest, type DeadmanNotice } from './deadman-webhook.ts';
import { deadmanAction, hubIsUp, nextWatchAtMs, type HubObservation, type HubWatchOptions } from './hub-watch.ts';
import type { RecentPoint } from './recent-rings.ts';
import { FleetPicture, splitIntoChunks } from './fleet-picture.ts';
import { emptyRelayStats, type RelayStats } from './relay-stats.ts';
import type { UptimeSnapshot } from './uptime-bitmaps.ts';
import { mayWatch, presentedKeyHash } from './view-access.ts';
import { applyAck, CLOSE_TOO_SLOW, LAG_FRAME, RELAY_MAX_HOLD_MS, newViewerLag, parseAck, pause, recordSent, recordSentAhead, shouldClose, shouldPause, type LagOptions, type ViewerLag } from './viewer-lag.ts';
import { clientAddress, ConnectLimiter, fullBucket, perMinute, takeToken, type Bucket, type RateLimit } from './viewer-limits.ts';

const VIEWER_TAG = 'viewer';
const HUB_TAG = 'hub';
/** A viewer frame larger than this closes the socket (a dashboard sends only "ping"). */
const MAX_VIEWER_FRAME_CHARS = 1024;
/** Largest frame sent to a viewer: a larger snapshot goes in parts, a larger delta as several. */
export const MAX_VIEWER_OUT_FRAME_CHARS = 1_000_000;
/** The alarm sends a held-back delta once no hub frame came for this long. */
const QUIET_FLUSH_MS = 2_000;
/** Close codes viewers get: the view was revoked; the link key they used is no longer the view's. */
export const CLOSE_VIEW_REVOKED = 4404;
export const CLOSE_LINK_KEY_CHANGED = 4403;
/** A dead-man notice that could not be delivered is retried this often, this many times. */
const DEADMAN_RETRY_MS = 30_000;
const DEADMAN_ATTEMPTS = 5;
const addressTag = (address: string) => `ip:${address}`;

/** What each viewer socket carries through hibernation: its address, frame allowance and key hash,
 *  and whether it is being closed for what it sent (frames that arrive after that are ignored). */
interface ViewerAttachment {
  address: string;
  bucket: Bucket;
  keyHash: string | null;
  closedForAbuse?: true;
}
/** The hub socket: which view it was opened for and whether it has sent the config frame. */
interface HubAttachment {
  view: string;
  configured: boolean;
}
/** ≤ 1.5 MB of UTF-8 per row even if every character needed 3 bytes; the row limit is 2 MB. */
const CHECKPOINT_CHUNK_CHARS = 500_000;

/** Why a hub frame was refused; `resync` asks the hub for a fresh snapshot. Sent back as {"t":"e",...}. */
export interface FrameRejection {
  error: string;
  resync?: boolean;
}

interface ChunkRow extends Record<string, SqlStorageValue> {
  part: number;
  body: string;
  saved_at_ms: number;
  parts: number;
}
interface StateRow extends Record<string, SqlStorageValue> {
  name: string;
  body: string;
}
/** The stored view: its config, or a tombstone after a revoke. */
type StoredView = { config: ViewConfigFrame } | { revoked: string };
interface StoredHubState {
  heardAtMs: number;
  deadmanFired: boolean;
}

export class FleetRelay extends DurableObject<Env> {
  private readonly config: RelayConfig;
  private readonly fleet: FleetPicture;
  private readonly counters: RelayStats;
  private readonly watch: HubWatchOptions;
  private dirty = false;
  private uptimeDirty = false;
  private uptimeUnsent = false;
  private alarmAtMs: number | null = null;
  private readonly connectLimiter: ConnectLimiter;
  private readonly viewerFrames: RateLimit;
  private view: ViewConfigFrame | null = null;
  private revokedSlug: string | null = null;
  private readonly assembler: SnapshotAssembler;
  /** Relay ms of the last hub frame (memory; checkpointed); pings are read from the runtime. */
  private heardAtMs = 0;
  /** Last frame that arrived by RPC (a coordinator in front): counts as a connected hub for a while. */
  private rpcHeardAtMs = 0;
  private lastHubUp: boolean | null = null;
  private deadmanFired = false;
  private deadmanPending: { notice: DeadmanNotice; attempts: number } | null = null;
  private tablesReady = false;
  /** What each viewer socket was sent and has acknowledged (durable-objects/viewer-lag.ts); memory only. */
  private readonly lags = new Map<WebSocket, ViewerLag>();
  private readonly lagOptions: LagOptions;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseRelayConfig(env as unknown as Record<string, unknown>);
    this.fleet = new FleetPicture({
      maxMachines: this.config.maxMachines,
      offlineAfterMs: this.config.offlineAfterMs,
      recentPoints: this.config.recentPoints,
      maxViewerFrameChars: MAX_VIEWER_OUT_FRAME_CHARS,
      viewerCharsPerSecond: this.config.viewerBytesPerSecond,
      maxHoldMs: RELAY_MAX_HOLD_MS,
    });
    this.assembler = createSnapshotAssembler(this.config.maxMachines);
    this.watch = {
      silentAfterMs: this.config.hubSilentAfterMs,
      // Only shard 0 of a view calls the webhook: one notice per view however it is sharded.
      deadmanAfterMs: this.config.deadmanWebhookUrl !== null && this.shardIndex() === 0 ? this.config.deadmanAfterMs : 0,
    };
    this.counters = emptyRelayStats('relay', ctx.id.name ?? ctx.id.toString(), Date.now());
    this.connectLimiter = new ConnectLimiter(perMinute(this.config.viewerConnectsPerMinute));
    this.viewerFrames = perMinute(this.config.viewerMessagesPerMinute);
    this.lagOptions = { maxUnackedFrames: this.config.viewerLagFrames, maxUnackedChars: this.config.viewerLagChars, closeAfterMs: this.config.viewerLagCloseMs };
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    // Tables are made with the first write (a config frame), not here: anyone may ask for any slug,
    // and an object that only answered 404 must leave nothing stored behind.
    this.tablesReady = this.hasTable('relay_state');
    if (this.tablesReady) this.restore();
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
    const url = new URL(request.url);
    if (url.pathname === '/viewer') return this.acceptViewer(request, url);
    if (url.pathname === '/hub') {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [HUB_TAG]);
      server.serializeAttachment({ view: url.searchParams.get('view') ?? '', configured: false } satisfies HubAttachment);
      this.counters.hubConnects++;
      return new Response(null, { status: 101, webSocket: client });
    }
    return Response.json({ error: `no such relay endpoint: ${url.pathname}` }, { status: 404 });
  }

  private async acceptViewer(request: Request, url: URL): Promise<Response> {
    const keyHash = await presentedKeyHash(url.searchParams.get('key'));
    if (!mayWatch(this.view, keyHash)) {
      this.counters.viewersRefused++;
      return noSuchView();
    }
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
    server.serializeAttachment({ address, bucket: fullBucket(this.viewerFrames, now), keyHash } satisfies ViewerAttachment);
    const lag = newViewerLag(true);
    this.lags.set(server, lag);
    this.sendStart(server, lag, now);
    this.counters.viewerConnects++;
    return new Response(null, { status: 101, webSocket: client });
  }

  /** What a viewer starts from (and resumes from after it was paused): the snapshot, `v`, `h`, `up`. */
  private sendStart(ws: WebSocket, lag: ViewerLag, now: number): void {
    const frames = [...this.fleet.snapshotFrames(), JSON.stringify(this.viewInfo()), JSON.stringify(this.hubStatus(now)), ...this.uptimeFrames(now)];
    for (const frame of frames) {
      ws.send(frame);
      recordSentAhead(lag, frame.length);
    }
    this.counters.viewerFramesOut += frames.length;
  }

  /** A viewer's ack: it may resume a paused viewer (with a fresh snapshot). False when it is no ack or
   *  acknowledged nothing new (it then counts against the viewer's message allowance). */
  private takeAck(ws: WebSocket, message: string | ArrayBuffer): boolean {
    const ack = typeof message === 'string' ? parseAck(message) : null;
    if (ack === null) return false;
    let lag = this.lags.get(ws);
    if (lag === undefined) this.lags.set(ws, (lag = newViewerLag(false)));
    if (lag.closing) return true;
    const { progress, resume } = applyAck(lag, ack);
    if (!progress) return false;
    this.counters.viewerAcks++;
    if (resume && this.view !== null) {
      this.counters.viewersResumed++;
      try {
        this.sendStart(ws, lag, Date.now());
      } catch {
        /* closing */
      }
    }
    return true;
  }

  private closingViewers(): number {
    let n = 0;
    for (const lag of this.lags.values()) if (lag.closing) n++;
    return n;
  }

  /** Closes the viewers paused for longer than VIEWER_LAG_CLOSE_MS. */
  private closeStalled(now: number): void {
    for (const [ws, lag] of this.lags) {
      if (!shouldClose(lag, now, this.lagOptions)) continue;
      this.closeSlow(ws);
    }
  }

  private closeSlow(ws: WebSocket): void {
    const lag = this.lags.get(ws);
    if (lag !== undefined) lag.closing = true;
    this.counters.viewersClosedSlow++;
    try {
      ws.close(CLOSE_TOO_SLOW, 'too slow: the viewer did not keep up with the live data');
    } catch {
      /* already closing */
    }
  }

  // ---- Hibernation handlers ------------------------------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.ctx.getTags(ws).includes(HUB_TAG)) {
      this.counters.viewerFramesIn++; // only acks are read; nothing a viewer sends is broadcast
      if (!this.takeAck(ws, message)) this.limitViewer(ws, message);
      return;
    }
    this.counters.hubFramesIn++;
    const attachment = (ws.deserializeAttachment() as HubAttachment | null) ?? { view: '', configured: false };
    const rejection = await this.acceptHubFrame(message, attachment, (next) => ws.serializeAttachment(next));
    if (rejection !== null) {
      try {
        ws.send(encodeRelayError(rejection));
      } catch {
        /* the hub went away; it will resend a snapshot when it reconnects */
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.lags.delete(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      /* already closed */
    }
    if (this.ctx.getTags(ws).includes(HUB_TAG)) this.hubSocketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.lags.delete(ws);
    if (this.ctx.getTags(ws).includes(HUB_TAG)) this.hubSocketGone(ws);
  }

  override async alarm(): Promise<void> {
    this.alarmAtMs = null;
    this.counters.alarmsRun++;
    const now = Date.now();
    // Deltas the byte allowance held back go out here once the hub has gone quiet; while it pushes,
    // its frames decide (in the hub's time), so every shard of a view sends the same frames.
    if (now - this.heardAtMs >= QUIET_FLUSH_MS) for (const frame of this.fleet.flushPending()) this.broadcast(frame);
    const sweep = this.fleet.sweep(now);
    if (sweep) this.broadcast(sweep);
    if (this.dirty || this.uptimeDirty) this.checkpoint(now);
    if (this.uptimeUnsent) {
      this.uptimeUnsent = false;
      for (const frame of this.uptimeFrames(now)) this.broadcast(frame);
    }
    this.announceHubStatus(now);
    this.closeStalled(now);
    await this.runDeadman(now);
    await this.ensureAlarm(now);
  }

  // ---- RPC (the coordinator and the Worker) --------------------------------------------------------

  /** A hub frame forwarded by the coordinator (which has checked that its socket began with a config
   *  frame for `view`). Returns null when accepted, else why it was rejected. */
  async ingest(frame: string, view?: string): Promise<FrameRejection | null> {
    this.counters.rpcCalls++;
    this.rpcHeardAtMs = Date.now();
    return this.acceptHubFrame(frame, { view: view ?? '', configured: true }, () => {});
  }

  /** From the coordinator (sharded views): when the hub was last heard and whether its socket is open,
   *  so a shard knows the hub is there even when the fleet is quiet and no frames come. */
  async hubLiveness(heardAtMs: number, connected: boolean): Promise<void> {
    this.counters.rpcCalls++;
    const now = Date.now();
    if (Number.isFinite(heardAtMs) && heardAtMs <= now) this.heardAtMs = Math.max(this.heardAtMs, heardAtMs);
    this.rpcHeardAtMs = connected ? now : 0;
    this.announceHubStatus(now);
    await this.ensureAlarm(now);
  }

  /** The snapshot text, or null when `key` may not see this view. */
  async snapshot(key?: string | null): Promise<string | null> {
    this.counters.rpcCalls++;
    if (!mayWatch(this.view, await presentedKeyHash(key))) return null;
    return this.fleet.snapshotText();
  }

  /** The view's title and metrics, or null when `key` may not see it (or it does not exist). */
  async info(key?: string | null): Promise<ViewInfoFrame | null> {
    this.counters.rpcCalls++;
    if (!mayWatch(this.view, await presentedKeyHash(key))) return null;
    return this.viewInfo();
  }

  /** Every machine of the view with its uptime bitmap, or null when `key` may not see the view. */
  async machines(key?: string | null): Promise<EdgeMachineSummary[] | null> {
    this.counters.rpcCalls++;
    if (!mayWatch(this.view, await presentedKeyHash(key))) return null;
    return toEdgeMachineList(this.fleet.views(), this.fleet.uptime, Date.now());
  }

  /** The last points the relay holds for one machine (memory only; empty after a restart); null when the
   *  machine is unknown or `key` may not see the view. */
  async recent(id: string, limit: number, key?: string | null): Promise<RecentPoint[] | null> {
    this.counters.rpcCalls++;
    if (!mayWatch(this.view, await presentedKeyHash(key))) return null;
    return this.fleet.recentPoints(id, limit) ?? null;
  }

  async stats(): Promise<RelayStats> {
    this.counters.rpcCalls++;
    return {
      ...this.counters,
      viewers: this.ctx.getWebSockets(VIEWER_TAG).length - this.closingViewers(),
      viewersClosing: this.closingViewers(),
      deltasCoalesced: this.fleet.coalesced,
      hubs: this.ctx.getWebSockets(HUB_TAG).length,
      machines: this.fleet.size,
    };
  }

  // ---- internals -----------------------------------------------------------------------------------

  private async acceptHubFrame(message: string | ArrayBuffer, socket: HubAttachment, save: (next: HubAttachment) => void): Promise<FrameRejection | null> {
    const now = Date.now();
    const wasUp = this.lastHubUp;
    this.heardAtMs = now;
    const rejection = this.handleHubFrame(message, socket, save, now);
    if (rejection !== null) this.counters.framesRejected++;
    else this.counters.framesAccepted++;
    if (wasUp !== true && this.view !== null) this.announceHubStatus(now);
    await this.ensureAlarm(now);
    return rejection;
  }

  private handleHubFrame(message: string | ArrayBuffer, socket: HubAttachment, save: (next: HubAttachment) => void, now: number): FrameRejection | null {
    if (typeof message !== 'string') return { error: 'binary frames are not accepted; send the JSON fleet format' };
    if (message.length > this.config.maxIngestFrameChars) {
      return { error: `frame of ${message.length} characters exceeds MAX_INGEST_FRAME_BYTES (${this.config.maxIngestFrameChars}); send the snapshot in parts` };
    }
    const type = frameType(message);
    if (type === 'c' || type === 'x') {
      let control;
      try {
        control = decodeViewControl(message);
      } catch (err) {
        return { error: (err as Error).message };
      }
      if (socket.view !== '' && control.slug !== socket.view) {
        return { error: `this socket is for view "${socket.view}" (/ingest?view=${socket.view}); the frame names "${control.slug}"` };
      }
      if (control.t === 'x') {
        this.revoke(control.slug);
        return null;
      }
      this.applyConfig(control);
      if (!socket.configured) save({ view: control.slug, configured: true });
      return null;
    }
    if (!socket.configured) {
      return { error: 'send the view config frame {"t":"c",...} first on every connection (proto/view-frames.ts)' };
    }
    if (this.view === null) {
      return { error: this.revokedSlug !== null ? `view "${this.revokedSlug}" was revoked; send a config frame to publish it again` : 'no view config received' };
    }
    let frames: string[];
    let uptimeChanged: boolean;
    try {
      if (type === 's') {
        const whole: SnapshotMessage | null = this.assembler.add(message);
        if (whole === null) return null; // more parts to come
        ({ frames, uptimeChanged } = this.fleet.ingestMessage(whole, now));
      } else {
        if (this.assembler.pending) {
          this.assembler.reset();
          return { error: 'a delta arrived before the last part of a snapshot; send the snapshot again', resync: true };
        }
        ({ frames, uptimeChanged } = this.fleet.ingest(message, now));
      }
    } catch (err) {
      // Out of step with the hub's numbering (this object restarted): ask the hub for a snapshot.
      return err instanceof FleetResyncError ? { error: err.message, resync: true } : { error: (err as Error).message };
    }
    this.dirty = true;
    if (uptimeChanged) {
      this.uptimeDirty = true;
      this.uptimeUnsent = true;
    }
    for (const frame of frames) this.broadcast(frame);
    return null;
  }

  /** Takes a config frame: stored only when it differs; viewers holding another link key are closed. */
  private applyConfig(next: ViewConfigFrame): void {
    const previous = this.view;
    if (previous !== null && this.revokedSlug === null && JSON.stringify(previous) === JSON.stringify(next)) return;
    this.view = next;
    this.revokedSlug = null;
    this.writeState('view', { config: next } satisfies StoredView);
    if (previous === null || previous.access !== next.access || previous.keyHash !== next.keyHash) {
      for (const ws of this.ctx.getWebSockets(VIEWER_TAG)) {
        const attachment = ws.deserializeAttachment() as ViewerAttachment | null;
        if (mayWatch(next, attachment?.keyHash ?? null)) continue;
        try {
          ws.close(CLOSE_LINK_KEY_CHANGED, 'the link key of this view changed');
        } catch {
          /* already closing */
        }
      }
    }
    if (previous === null || previous.title !== next.title || previous.slug !== next.slug || previous.metrics.join() !== next.metrics.join()) {
      this.broadcast(JSON.stringify(this.viewInfo()));
    }
  }

  /** The view was deleted: forget it, close its viewers, answer 404 until a new config frame arrives. */
  private revoke(slug: string): void {
    this.view = null;
    this.revokedSlug = slug;
    this.fleet.clear();
    this.assembler.reset();
    this.dirty = false;
    this.uptimeDirty = false;
    this.uptimeUnsent = false;
    this.ensureTables();
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      sql.exec('DELETE FROM checkpoint');
      sql.exec('DELETE FROM uptime');
      sql.exec('INSERT OR REPLACE INTO relay_state (name, body) VALUES (?, ?)', 'view', JSON.stringify({ revoked: slug } satisfies StoredView));
    });
    this.counters.rowsWritten++;
    for (const ws of this.ctx.getWebSockets(VIEWER_TAG)) {
      try {
        ws.close(CLOSE_VIEW_REVOKED, 'view revoked');
      } catch {
        /* already closing */
      }
    }
  }

  private viewInfo(): ViewInfoFrame {
    const view = this.view!;
    return { t: 'v', slug: view.slug, title: view.title, metrics: view.metrics };
  }

  private observation(now: number, closing?: WebSocket): HubObservation {
    let heard = this.heardAtMs;
    let connected = now - this.rpcHeardAtMs < this.watch.silentAfterMs && this.rpcHeardAtMs > 0;
    for (const ws of this.ctx.getWebSockets(HUB_TAG)) {
      if (ws === closing) continue;
      connected = true;
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws);
      if (pinged !== null && pinged.getTime() > heard) heard = pinged.getTime();
    }
    return { heardAtMs: heard, connected };
  }

  private hubStatus(now: number, closing?: WebSocket): HubStatusFrame {
    const o = this.observation(now, closing);
    return { t: 'h', up: hubIsUp(o, now, this.watch), heard: o.heardAtMs, now };
  }

  /** Sends `h` to every viewer when the hub's state differs from what they were told. */
  private announceHubStatus(now: number, closing?: WebSocket): void {
    if (this.view === null) return;
    const status = this.hubStatus(now, closing);
    if (status.up === this.lastHubUp) return;
    this.lastHubUp = status.up;
    this.broadcast(JSON.stringify(status));
  }

  private hubSocketGone(ws: WebSocket): void {
    const now = Date.now();
    // Its last answered ping still counts as heard: the dead-man clock starts there, not at the last frame.
    try {
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws);
      if (pinged !== null) this.heardAtMs = Math.max(this.heardAtMs, Math.min(now, pinged.getTime()));
    } catch {
      /* the runtime no longer knows the socket */
    }
    this.assembler.reset();
    if (this.dirty || this.uptimeDirty) this.checkpoint(now);
    this.announceHubStatus(now, ws);
  }

  /** The `up` frames: every machine's bitmap, split so no frame passes the viewer frame limit. */
  private uptimeFrames(now: number): string[] {
    const all = this.fleet.uptime.snapshot(now);
    const entries = Object.entries(all.m);
    const frames: string[] = [];
    const perFrame = Math.max(1, Math.floor(MAX_VIEWER_OUT_FRAME_CHARS / 200)); // id ≤ 128 + bitmap 16 + quotes
    for (let i = 0; i === 0 || i < entries.length; i += perFrame) {
      frames.push(JSON.stringify({ t: 'up', slotMs: all.slotMs, end: all.end, m: Object.fromEntries(entries.slice(i, i + perFrame)) } satisfies UptimeFrame));
    }
    return frames;
  }

  /** The dead-man switch: decide from memory, write only when its state flips, post the notice. */
  private async runDeadman(now: number): Promise<void> {
    if (this.watch.deadmanAfterMs <= 0 || this.view === null) return;
    const o = this.observation(now);
    const action = deadmanAction(this.deadmanFired, o.heardAtMs, now, this.watch);
    if (action !== null) {
      this.deadmanFired = action === 'fire';
      this.writeState('hub', { heardAtMs: o.heardAtMs, deadmanFired: this.deadmanFired } satisfies StoredHubState);
      this.deadmanPending = { notice: { kind: action === 'fire' ? 'firing' : 'resolved', view: this.view.slug, heardAtMs: o.heardAtMs, atMs: now }, attempts: 0 };
    }
    const pending = this.deadmanPending;
    if (pending === null) return;
    pending.attempts++;
    try {
      const req = await deadmanRequest(this.config.deadmanWebhookUrl!, this.config.deadmanWebhookSecret ?? undefined, pending.notice, Date.now());
      const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(10_000) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.deadmanPending = null;
    } catch (err) {
      console.error(`fleet relay: dead-man webhook (${pending.notice.kind}) failed, attempt ${pending.attempts} of ${DEADMAN_ATTEMPTS}: ${(err as Error).message}`);
      if (pending.attempts >= DEADMAN_ATTEMPTS) this.deadmanPending = null;
    }
  }

  /** Closes a viewer socket that sends a frame above 1 KiB or more frames than it is allowed; counted
   *  once, however many frames it still sends while the close is under way. */
  private limitViewer(ws: WebSocket, message: string | ArrayBuffer): void {
    const size = typeof message === 'string' ? message.length : message.byteLength;
    const attachment = ws.deserializeAttachment() as ViewerAttachment | null;
    if (attachment?.closedForAbuse === true) return;
    const taken = takeToken(attachment?.bucket ?? fullBucket(this.viewerFrames, Date.now()), this.viewerFrames, Date.now());
    if (size <= MAX_VIEWER_FRAME_CHARS && taken.allowed) {
      ws.serializeAttachment({ address: attachment?.address ?? 'unknown', bucket: taken.bucket, keyHash: attachment?.keyHash ?? null } satisfies ViewerAttachment);
      return;
    }
    this.counters.viewersClosedForAbuse++;
    try {
      ws.serializeAttachment({ address: attachment?.address ?? 'unknown', bucket: taken.bucket, keyHash: attachment?.keyHash ?? null, closedForAbuse: true } satisfies ViewerAttachment);
    } catch {
      /* already closed */
    }
    try {
      ws.close(size > MAX_VIEWER_FRAME_CHARS ? 1009 : 1008, size > MAX_VIEWER_FRAME_CHARS ? 'frame too large' : 'viewers are read-only; too many frames');
    } catch {
      /* already closing */
    }
  }

  /** The same text to every viewer that keeps up. One that has more unacknowledged than the lag limits
   *  allow gets `{"t":"lag"}` and then nothing until it catches up (or is closed). */
  private broadcast(text: string): void {
    const viewers = this.ctx.getWebSockets(VIEWER_TAG);
    const now = Date.now();
    for (const ws of viewers) {
      let lag = this.lags.get(ws);
      if (lag === undefined) this.lags.set(ws, (lag = newViewerLag(false)));
      if (lag.closing) continue;
      if (lag.pausedAtMs !== null) {
        if (shouldClose(lag, now, this.lagOptions)) this.closeSlow(ws);
        continue;
      }
      try {
        ws.send(text);
        recordSent(lag, text.length);
        this.counters.viewerFramesOut++;
        if (shouldPause(lag, this.lagOptions)) {
          ws.send(LAG_FRAME);
          recordSent(lag, LAG_FRAME.length);
          pause(lag, now);
          this.counters.viewersPaused++;
        }
      } catch {
        /* closing or closed socket */
      }
    }
    this.counters.broadcasts++;
  }

  /** One alarm does every job: the next checkpoint while dirty, the next sweep while machines are live,
   *  the next look at the hub while it could fall silent, a dead-man notice to (re)send. It is set again
   *  only when needed earlier than already set, so a stream of pushes costs one alarm per interval. */
  private async ensureAlarm(now: number): Promise<void> {
    const wanted: number[] = [];
    if (this.dirty || this.uptimeDirty || this.uptimeUnsent || this.fleet.hasLiveMachines()) wanted.push(now + this.config.checkpointIntervalMs);
    if (this.view !== null) {
      const watchAt = nextWatchAtMs(this.observation(now), this.deadmanFired, now, this.watch);
      if (watchAt !== null) wanted.push(watchAt + 50);
      // The hub is back after the dead-man fired: the alarm resolves it.
      if (this.deadmanFired && deadmanAction(true, this.observation(now).heardAtMs, now, this.watch) === 'resolve') wanted.push(now + 50);
    }
    if (this.deadmanPending !== null) wanted.push(now + DEADMAN_RETRY_MS);
    if (wanted.length === 0) return;
    const at = Math.min(...wanted);
    if (this.alarmAtMs !== null && this.alarmAtMs <= at) return;
    await this.ctx.storage.setAlarm(at);
    this.alarmAtMs = at;
    this.counters.alarmsSet++;
  }

  private checkpoint(now: number): void {
    this.ensureTables();
    const sql = this.ctx.storage.sql;
    let rows = 0;
    const text = this.dirty ? this.fleet.checkpointText() : null;
    const uptime = this.uptimeDirty ? JSON.stringify(this.fleet.uptime.snapshot(now)) : null;
    // No row of its own for "when the hub was last heard": the snapshot only changes when the hub
    // speaks, so the checkpoint's saved_at_ms is that time (to within one interval) at no extra write.
    this.ctx.storage.transactionSync(() => {
      if (text !== null) rows += writeChunks(sql, 'checkpoint', text, now);
      if (uptime !== null) rows += writeChunks(sql, 'uptime', uptime, now);
    });
    this.dirty = false;
    this.uptimeDirty = false;
    this.counters.checkpoints++;
    this.counters.rowsWritten += rows;
    if (text !== null) this.counters.lastCheckpointChars = text.length;
  }

  private hasTable(name: string): boolean {
    const cursor = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", name);
    return cursor.one().n > 0;
  }

  private ensureTables(): void {
    if (this.tablesReady) return;
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS checkpoint (part INTEGER PRIMARY KEY, body TEXT NOT NULL, saved_at_ms INTEGER NOT NULL, parts INTEGER NOT NULL)');
    sql.exec('CREATE TABLE IF NOT EXISTS uptime (part INTEGER PRIMARY KEY, body TEXT NOT NULL, saved_at_ms INTEGER NOT NULL, parts INTEGER NOT NULL)');
    sql.exec('CREATE TABLE IF NOT EXISTS relay_state (name TEXT PRIMARY KEY, body TEXT NOT NULL)');
    this.tablesReady = true;
  }

  private writeState(name: 'view' | 'hub', value: StoredView | StoredHubState): void {
    this.ensureTables();
    this.counters.rowsWritten += this.ctx.storage.sql.exec('INSERT OR REPLACE INTO relay_state (name, body) VALUES (?, ?)', name, JSON.stringify(value)).rowsWritten;
  }

  /** Which shard of its view this object is (from its name view:<slug>:<shard>; 0 when unnamed). */
  private shardIndex(): number {
    const match = /:(\d+)$/.exec(this.ctx.id.name ?? '');
    return match ? Number(match[1]) : 0;
  }

  private restore(): void {
    const sql = this.ctx.storage.sql;
    const state = sql.exec<StateRow>('SELECT name, body FROM relay_state');
    for (const row of state.toArray()) {
      try {
        const value = JSON.parse(row.body) as StoredView | StoredHubState;
        if (row.name === 'view' && 'config' in value) this.view = decodeViewControl(JSON.stringify(value.config)) as ViewConfigFrame;
        else if (row.name === 'view' && 'revoked' in value) this.revokedSlug = value.revoked;
        else if (row.name === 'hub' && 'heardAtMs' in value) {
          this.heardAtMs = value.heardAtMs;
          this.deadmanFired = value.deadmanFired;
        }
      } catch (err) {
        console.error(`fleet relay: stored ${row.name} could not be read (${(err as Error).message}); ignoring it`);
      }
    }
    this.counters.rowsRead += state.rowsRead;
    if (this.view === null) return; // nothing to serve: no config, or revoked
    const checkpoint = readChunks(sql, 'checkpoint');
    this.counters.rowsRead += checkpoint.rowsRead;
    if (checkpoint.text !== null) {
      this.heardAtMs = Math.max(this.heardAtMs, checkpoint.savedAtMs);
      try {
        this.fleet.restore(checkpoint.text, checkpoint.savedAtMs);
      } catch (err) {
        console.error(`fleet relay: checkpoint could not be restored (${(err as Error).message}); starting empty`);
      }
    }
    const uptime = readChunks(sql, 'uptime');
    this.counters.rowsRead += uptime.rowsRead;
    if (uptime.text !== null) {
      try {
        this.fleet.uptime.restore(JSON.parse(uptime.text) as UptimeSnapshot);
        this.fleet.uptime.retain(new Set(this.fleet.views().map((m) => m.id)));
      } catch (err) {
        console.error(`fleet relay: uptime could not be restored (${(err as Error).message}); starting empty`);
      }
    }
  }
}

function noSuchView(): Response {
  return Response.json({ error: 'no such view' }, { status: 404 });
}

/** Writes `text` as rows of at most CHECKPOINT_CHUNK_CHARS into `table` (checkpoint | uptime); returns rows written. */
function writeChunks(sql: SqlStorage, table: 'checkpoint' | 'uptime', text: string, now: number): number {
  const chunks = splitIntoChunks(text, CHECKPOINT_CHUNK_CHARS);
  let rows = 0;
  chunks.forEach((body, part) => {
    rows += sql.exec(
      `INSERT INTO ${table} (part, body, saved_at_ms, parts) VALUES (?, ?, ?, ?) ` +
        'ON CONFLICT(part) DO UPDATE SET body = excluded.body, saved_at_ms = excluded.saved_at_ms, parts = excluded.parts',
      part,
      body,
      now,
      chunks.length,
    ).rowsWritten;
  });
  rows += sql.exec(`DELETE FROM ${table} WHERE part >= ?`, chunks.length).rowsWritten;
  return rows;
}

function readChunks(sql: SqlStorage, table: 'checkpoint' | 'uptime'): { text: string | null; savedAtMs: number; rowsRead: number } {
  const cursor = sql.exec<ChunkRow>(`SELECT part, body, saved_at_ms, parts FROM ${table} ORDER BY part`);
  const rows = cursor.toArray();
  if (rows.length === 0) return { text: null, savedAtMs: 0, rowsRead: cursor.rowsRead };
  const complete = rows.length === rows[0].parts && rows.every((r, i) => r.part === i && r.saved_at_ms === rows[0].saved_at_ms);
  if (!complete) {
    console.error(`fleet relay: ${table} is incomplete (${rows.length} of ${rows[0].parts} parts); starting empty`);
    return { text: null, savedAtMs: 0, rowsRead: cursor.rowsRead };
  }
  return { text: rows.map((r) => r.body).join(''), savedAtMs: rows[0].saved_at_ms, rowsRead: cursor.rowsRead };
}
