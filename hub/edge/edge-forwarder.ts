// The hub's edge forwarder for one public view: one persistent, authenticated WebSocket per relay shard
// of the view (the Worker's /ingest?view=<slug>&shard=<i>). The shard count is learned from the relay:
// the Worker answers every upgrade with X-Relay-Shards (proto/relay-shards.ts), and the forwarder opens
// or closes sockets to match, so the hub and the relay cannot disagree (a relay without the header is one
// shard). After every (re)connect a socket gets the view's config frame, then a full snapshot (in parts
// when larger than the frame limit); then every push sends the same coalesced delta — only what changed
// since the previous push, several complete deltas when one would pass the limit — to every shard that
// holds the snapshot. All shards share one machine numbering (one coalescer): a shard that (re)connects
// while others are up gets a snapshot of what the others hold, so the next shared delta applies to it too.
// Each shard's socket reconnects on its own with exponential backoff and full jitter; a lost shard is
// logged and visible in stats() (shards, shardsConnected, shardLinks) until it is back with its snapshot.
// A frame the relay refuses never starts a resend loop: the fresh snapshot it may ask for waits an
// exponential, capped backoff, each distinct error is logged once, and refusals are counted
// (sysmonstm_hub_edge_frames_refused_total). It never slows the hub: change notifications only update an
// in-memory map (the latest view per machine, so memory is bounded by the fleet size), and when the edge
// is down nothing queues up — the next connection starts from a fresh snapshot.
import WebSocket from 'ws';
import type { MachineView } from '../../proto/delta.ts';
import { parseRelayShards, RELAY_SHARDS_HEADER, shardIngestUrl } from '../../proto/relay-shards.ts';
import { decodeRelayError } from '../../proto/view-frames.ts';
import { createDeltaCoalescer, snapshotFrames } from '../fleet/delta-coalescer.ts';
import type { Logger } from '../log.ts';
import { fullJitterDelayMs, type BackoffOptions } from './backoff.ts';
import type { FleetSource } from './fleet-source.ts';

export interface EdgeForwarderOptions {
  /** ws:// or wss:// URL of the view's ingest endpoint, e.g. wss://name.workers.dev/ingest?view=default;
   *  each shard's socket adds `shard=<i>`. */
  url: string;
  apiKey: string;
  pushIntervalMs: number;
  source: FleetSource;
  log: Logger;
  /** The view's config frame ({"t":"c",…}), sent first on every connect and by reconfigure(). */
  configFrame?: () => string;
  /** Largest frame sent (EDGE_MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
  backoff?: BackoffOptions;
  /** A push is skipped (and coalesced into the next) while more than this is unsent on a shard's socket. */
  maxBufferedBytes?: number;
  /** Application-level "ping" interval; a socket that did not answer the previous ping is dropped. */
  heartbeatMs?: number;
  handshakeTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
}

/** One shard's socket, as shown in stats(). */
export interface EdgeShardLinkStats {
  shard: number;
  connected: boolean;
  connects: number;
  disconnects: number;
  /** Delta frames sent on this shard's sockets. */
  deltasSent: number;
  lastError: string | null;
}

export interface EdgeForwarderStats {
  /** Every shard's socket is open. */
  connected: boolean;
  connects: number;
  disconnects: number;
  snapshotsSent: number;
  deltasSent: number;
  bytesSent: number;
  /** Pushes postponed because a socket was still busy sending earlier frames. */
  skippedPushes: number;
  /** Machines changed since the last push. */
  pendingMachines: number;
  /** Age of the oldest change the edge has not been sent yet (0 when it is up to date): the forward lag. */
  lagMs: number;
  /** Error frames the relay sent back (a rejected frame). */
  edgeErrors: number;
  /** Frames the relay refused (every error frame, a resync request included). */
  framesRefused: number;
  /** Snapshot frames sent (a snapshot in parts counts each part). */
  snapshotPartsSent: number;
  configsSent: number;
  /** Snapshots resent because the relay asked for one (it restarted and lost the machine numbering). */
  resyncs: number;
  lastError: string | null;
  /** The relay's shard count (as its last upgrade answer said; 1 until then) and the open shard sockets. */
  shards: number;
  shardsConnected: number;
  shardLinks: EdgeShardLinkStats[];
}

export interface EdgeForwarder {
  start(): void;
  close(): Promise<void>;
  stats(): EdgeForwarderStats;
  /** Sends the config frame again (the view's title, access or link secret changed). */
  reconfigure(): void;
  /** Starts over with the config frame and a fresh snapshot (the view's selection or shown fields changed). */
  resnapshot(): void;
}

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** A connection that stayed up this long without a refusal resets the reconnect backoff. */
const STABLE_CONNECTION_MS = 30_000;

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 500, maxMs: 30_000 });
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 20_000;
const CLOSE_WAIT_MS = 2_000;
/** The close code of a shard socket the relay no longer has (its shard count went down). */
const CLOSE_SHARD_GONE = 1000;

/** The error text of a relay's refusal ({"t":"e","error":…}), or the raw reply, shortened. */
function refusalText(text: string): string {
  return (decodeRelayError(text)?.error ?? text).slice(0, 300);
}

/** An error frame from the relay ({"t":"e","error":…,"resync":true}) that asks for a new snapshot. */
function asksForResync(text: string): boolean {
  return decodeRelayError(text)?.resync === true;
}

/** One shard's socket and its reconnect state. */
interface ShardLink {
  readonly shard: number;
  /** Shard 0's is the view's plain ingest URL while the relay does not announce its shards. */
  url: string;
  socket: WebSocket | undefined;
  /** The socket holds the shared snapshot: pushes go to it. */
  inStep: boolean;
  attempt: number;
  awaitingPong: boolean;
  reconnectTimer: NodeJS.Timeout | undefined;
  resyncTimer: NodeJS.Timeout | undefined;
  /** Refusals in a row (reset by a quiet, stable connection): the exponent of the resend backoff. */
  refusalStreak: number;
  lastRefusalMs: number;
  openedAtMs: number;
  /** This link is no longer wanted (closed, or the relay has fewer shards). */
  dropped: boolean;
  stats: EdgeShardLinkStats;
}

export function createEdgeForwarder(options: EdgeForwarderOptions): EdgeForwarder {
  if (!/^wss?:\/\//.test(options.url)) throw new Error(`EDGE_URL must start with ws:// or wss:// (got "${options.url}")`);
  if (options.apiKey.length === 0) throw new Error('EDGE_API_KEY must not be empty');
  if (!(options.pushIntervalMs > 0)) throw new Error(`pushIntervalMs must be positive (got ${options.pushIntervalMs})`);
  const { source, log } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;

  const latest = new Map<string, MachineView>();
  const coalescer = createDeltaCoalescer();
  /** When the oldest change not yet sent was noticed (undefined: the edge has everything). */
  let pendingSinceMs: number | undefined;
  const stats = {
    snapshotsSent: 0,
    deltasSent: 0,
    bytesSent: 0,
    skippedPushes: 0,
    edgeErrors: 0,
    framesRefused: 0,
    snapshotPartsSent: 0,
    configsSent: 0,
    resyncs: 0,
  };

  const links: ShardLink[] = [];
  let started = false;
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  const errorsLogged = new Set<string>();

  const isOpen = (link: ShardLink) => link.socket !== undefined && link.socket.readyState === WebSocket.OPEN;

  const send = (ws: WebSocket, text: string) => {
    ws.send(text);
    stats.bytesSent += Buffer.byteLength(text);
  };

  const sendConfig = (ws: WebSocket) => {
    if (!options.configFrame) return;
    send(ws, options.configFrame());
    stats.configsSent++;
  };

  /** A fresh snapshot from the source; restarts the numbering (every shard must take it). */
  const freshSnapshot = (): string[] => {
    latest.clear();
    for (const view of source.current()) latest.set(view.id, view);
    pendingSinceMs = undefined;
    return snapshotFrames(coalescer.snapshot(latest.values(), now()), maxFrameBytes);
  };

  const sendFrames = (link: ShardLink, frames: string[]) => {
    for (const frame of frames) send(link.socket!, frame);
    stats.snapshotsSent++;
    stats.snapshotPartsSent += frames.length;
  };

  /** Config and snapshot for one shard's socket. With other shards in step it gets what they hold (the
   *  next shared delta brings it up to date with them); alone, it starts the numbering over. */
  const startOver = (link: ShardLink) => {
    const ws = link.socket!;
    try {
      sendConfig(ws);
      const others = links.some((l) => l !== link && l.inStep && isOpen(l));
      sendFrames(link, others ? snapshotFrames(coalescer.current(now()), maxFrameBytes) : freshSnapshot());
      link.inStep = true;
    } catch (err) {
      log.error({ err, shard: link.shard }, 'edge forwarder could not send the snapshot');
      link.inStep = false;
      ws.terminate();
    }
  };

  /** Every open shard starts over with the config frame and one fresh snapshot (the view changed). */
  const startOverAll = () => {
    const open = links.filter(isOpen);
    for (const link of open) {
      clearTimeout(link.resyncTimer);
      link.resyncTimer = undefined;
    }
    if (open.length === 0) return;
    let frames: string[];
    try {
      frames = freshSnapshot();
    } catch (err) {
      log.error({ err }, 'edge forwarder could not encode the snapshot');
      return;
    }
    for (const link of open) {
      try {
        sendConfig(link.socket!);
        sendFrames(link, frames);
        link.inStep = true;
      } catch (err) {
        log.error({ err, shard: link.shard }, 'edge forwarder could not send the snapshot');
        link.inStep = false;
        link.socket!.terminate();
      }
    }
  };

  const push = () => {
    const targets = links.filter((l) => l.inStep && isOpen(l));
    if (targets.length === 0) return; // changes stay marked; a connecting shard sends a snapshot anyway
    if (targets.some((l) => l.socket!.bufferedAmount > maxBufferedBytes)) {
      stats.skippedPushes++;
      return;
    }
    const deltas = coalescer.flushFrames((id) => latest.get(id), now(), maxFrameBytes);
    pendingSinceMs = undefined;
    for (const link of targets) {
      for (const delta of deltas) {
        send(link.socket!, delta);
        stats.deltasSent++;
        link.stats.deltasSent++;
      }
    }
  };

  const scheduleReconnect = (link: ShardLink) => {
    if (closed || link.dropped) return;
    const delayMs = Math.max(fullJitterDelayMs(link.attempt++, backoff, random), link.attempt > 1 ? backoff.baseMs / 2 : 0);
    log.debug({ delayMs, attempt: link.attempt, shard: link.shard }, 'edge forwarder reconnecting');
    link.reconnectTimer = setTimeout(() => connect(link), delayMs);
    link.reconnectTimer.unref();
  };

  /** Opens or drops shard sockets so there is one per shard of the relay. */
  const setShardCount = (count: number) => {
    if (closed || count === links.length) return;
    if (count > links.length) {
      log.info({ url: options.url, shards: count }, 'edge relay is sharded: one socket per shard');
      for (let i = links.length; i < count; i++) {
        const link = newLink(i);
        links.push(link);
        connect(link);
      }
      return;
    }
    log.info({ url: options.url, shards: count }, 'edge relay has fewer shards now: closing the sockets of the others');
    for (const link of links.splice(count)) {
      link.dropped = true;
      clearTimeout(link.reconnectTimer);
      clearTimeout(link.resyncTimer);
      link.inStep = false;
      const ws = link.socket;
      link.socket = undefined;
      if (ws?.readyState === WebSocket.OPEN) ws.close(CLOSE_SHARD_GONE, 'the relay has fewer shards');
      else ws?.terminate();
    }
  };

  const newLink = (shard: number): ShardLink => ({
    shard,
    url: shardIngestUrl(options.url, shard),
    socket: undefined,
    inStep: false,
    attempt: 0,
    awaitingPong: false,
    reconnectTimer: undefined,
    resyncTimer: undefined,
    refusalStreak: 0,
    lastRefusalMs: 0,
    openedAtMs: 0,
    dropped: false,
    stats: { shard, connected: false, connects: 0, disconnects: 0, deltasSent: 0, lastError: null },
  });

  function connect(link: ShardLink) {
    link.reconnectTimer = undefined;
    if (closed || link.dropped) return;
    const ws = new WebSocket(link.url, {
      headers: { Authorization: `Bearer ${options.apiKey}` },
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      maxPayload: 64 * 1024,
    });
    link.socket = ws;
    link.inStep = false;
    let announced: number | null = null;
    ws.on('upgrade', (res) => {
      announced = parseRelayShards(res.headers[RELAY_SHARDS_HEADER.toLowerCase()]);
    });
    ws.on('open', () => {
      if (link.socket !== ws) return;
      // A Worker that does not announce its shard count (older than X-Relay-Shards) gets one socket
      // without `&shard`, which it routes to its coordinator when it has shards, so no shard starves;
      // once it announces a count, shard 0 goes back to `&shard=0`.
      const plain = link.url === options.url;
      if (link.shard === 0 && (announced === null) !== plain) {
        log.warn({ url: options.url, announced }, announced === null
          ? 'edge relay did not announce its shard count (X-Relay-Shards): one socket without &shard'
          : 'edge relay announces its shard count now: one socket per shard');
        link.url = announced === null ? options.url : shardIngestUrl(options.url, 0);
        link.socket = undefined;
        // The new socket opens once this one is gone, so the relay never holds two of this hub's sockets.
        ws.once('close', () => connect(link));
        ws.close(1000, 'reconnecting to the right relay endpoint');
        return;
      }
      link.stats.connected = true;
      link.stats.connects++;
      link.stats.lastError = null;
      link.awaitingPong = false;
      log.info({ url: link.url, attempt: link.attempt, shard: link.shard, shards: announced ?? 1 }, 'edge forwarder connected');
      link.openedAtMs = now();
      // The backoff is reset only by a connection that proved stable (see 'close'), so a relay that
      // accepts the socket and then drops it at every snapshot is not hammered.
      startOver(link);
      setShardCount(announced ?? 1);
    });
    ws.on('message', (data, isBinary) => {
      link.awaitingPong = false;
      if (isBinary) return;
      const text = data.toString();
      if (text === 'pong') return;
      stats.edgeErrors++;
      stats.framesRefused++;
      const t = now();
      if (t - link.lastRefusalMs > STABLE_CONNECTION_MS) link.refusalStreak = 0;
      link.lastRefusalMs = t;
      const error = refusalText(text);
      if (!errorsLogged.has(error)) {
        if (errorsLogged.size < 100) errorsLogged.add(error);
        log.warn({ url: link.url, shard: link.shard, reply: error }, 'edge relay refused a frame (logged once per distinct error; counted in sysmonstm_hub_edge_frames_refused_total)');
      }
      // The relay lost track of our machine numbers (it restarted, or did not take a frame) and asks for
      // a fresh snapshot: sent after a backoff that grows with every refusal in a row, so a refusal
      // never becomes a resend loop. Other refusals are only counted and logged. Until then this shard
      // gets no deltas (the snapshot will hold what they carried).
      if (!asksForResync(text) || link.resyncTimer !== undefined) return;
      const delayMs = Math.max(backoff.baseMs / 4, fullJitterDelayMs(link.refusalStreak++, backoff, random));
      stats.resyncs++;
      link.inStep = false;
      link.resyncTimer = setTimeout(() => {
        link.resyncTimer = undefined;
        if (link.socket === ws && ws.readyState === WebSocket.OPEN) startOver(link);
      }, delayMs);
      link.resyncTimer.unref();
    });
    ws.on('error', (err) => {
      // A failed handshake (refused, 401, timeout) and a broken connection both end here, then 'close'.
      const first = link.stats.lastError === null;
      link.stats.lastError = err.message;
      if (first) log.warn({ err: err.message, url: link.url, shard: link.shard }, 'edge connection failed');
      else log.debug({ err: err.message, shard: link.shard }, 'edge connection failed again');
    });
    ws.on('close', (code, reason) => {
      if (link.socket !== ws) return;
      link.socket = undefined;
      link.inStep = false;
      clearTimeout(link.resyncTimer);
      link.resyncTimer = undefined;
      if (link.stats.connected) {
        link.stats.disconnects++;
        log.warn(
          { code, reason: reason.toString(), shard: link.shard, shards: links.length },
          links.length > 1 ? 'edge connection of one relay shard closed; reconnecting it (its viewers get a fresh snapshot)' : 'edge connection closed',
        );
        if (now() - link.openedAtMs >= STABLE_CONNECTION_MS && now() - link.lastRefusalMs >= STABLE_CONNECTION_MS) link.attempt = 0;
      }
      link.stats.connected = false;
      scheduleReconnect(link);
    });
  }

  const heartbeat = () => {
    for (const link of links) {
      const ws = link.socket;
      if (!ws || ws.readyState !== WebSocket.OPEN) continue;
      if (link.awaitingPong) {
        log.warn({ shard: link.shard }, 'edge relay did not answer the heartbeat; reconnecting');
        ws.terminate();
        continue;
      }
      link.awaitingPong = true;
      ws.send('ping');
    }
  };

  const closeLink = (link: ShardLink, finalDeltas: string[]) =>
    new Promise<void>((resolve) => {
      clearTimeout(link.reconnectTimer);
      clearTimeout(link.resyncTimer);
      link.dropped = true;
      const ws = link.socket;
      link.socket = undefined;
      link.stats.connected = false;
      if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
      if (ws.readyState === WebSocket.OPEN && link.inStep) {
        try {
          for (const delta of finalDeltas) send(ws, delta);
        } catch (err) {
          log.debug({ err, shard: link.shard }, 'final edge push failed');
        }
      }
      link.inStep = false;
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, CLOSE_WAIT_MS);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'hub shutting down');
    });

  return {
    start() {
      if (started || closed) return;
      started = true;
      unsubscribe = source.onChange(
        (view) => {
          latest.set(view.id, view);
          coalescer.mark(view.id);
          pendingSinceMs ??= now();
        },
        (id) => {
          latest.delete(id);
          coalescer.mark(id);
          pendingSinceMs ??= now();
        },
      );
      pushTimer = setInterval(push, options.pushIntervalMs);
      pushTimer.unref();
      heartbeatTimer = setInterval(heartbeat, heartbeatMs);
      heartbeatTimer.unref();
      // Shard 0 first: its upgrade answer says how many shards there are.
      const first = newLink(0);
      links.push(first);
      connect(first);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pushTimer);
      clearInterval(heartbeatTimer);
      unsubscribe?.();
      let finalDeltas: string[] = [];
      if (links.some((l) => l.inStep && isOpen(l))) {
        try {
          finalDeltas = coalescer.flushFrames((id) => latest.get(id), now(), maxFrameBytes);
        } catch (err) {
          log.debug({ err }, 'final edge push failed');
        }
      }
      await Promise.all(links.map((l) => closeLink(l, finalDeltas)));
    },
    reconfigure() {
      for (const link of links) if (isOpen(link)) sendConfig(link.socket!);
    },
    resnapshot() {
      startOverAll();
    },
    stats: () => {
      const shardLinks = links.map((l) => ({ ...l.stats }));
      const shardsConnected = shardLinks.filter((l) => l.connected).length;
      return {
        ...stats,
        connected: shardLinks.length > 0 && shardsConnected === shardLinks.length,
        connects: shardLinks.reduce((n, l) => n + l.connects, 0),
        disconnects: shardLinks.reduce((n, l) => n + l.disconnects, 0),
        lastError: shardLinks.find((l) => l.lastError !== null)?.lastError ?? null,
        shards: Math.max(1, links.length),
        shardsConnected,
        shardLinks,
        pendingMachines: coalescer.pending,
        lagMs: pendingSinceMs === undefined ? 0 : Math.max(0, now() - pendingSinceMs),
      };
    },
  };
}
