// The relay's settings, parsed once from the Worker's environment (wrangler.toml [vars], secrets,
// `wrangler dev --var`) into a frozen typed object. An error names the variable and what is wrong.
// Pure: no Workers APIs, so it is unit-tested in Node.

export interface RelayConfig {
  /** Relay objects viewers are spread over; >1 puts a coordinator between the hub and the shards. */
  readonly relayShards: number;
  /** A machine the relay heard nothing about for this long is shown offline; null (the default): the
   *  hub's rule, offlineAfterMs(the machine's interval) from proto/status.ts. */
  readonly offlineAfterMs: number | null;
  /** The snapshot is written to SQLite at most this often (and by the alarm, so nothing is lost on hibernation). */
  readonly checkpointIntervalMs: number;
  readonly maxMachines: number;
  readonly maxViewersPerShard: number;
  /** Largest frame accepted from the hub, in UTF-16 characters (≈ bytes for the ASCII wire format). */
  readonly maxIngestFrameChars: number;
  /** Recent points kept in memory per machine, so a viewer's charts start with the last minute (0 = none). */
  readonly recentPoints: number;
  /** Concurrent viewer sockets per client address on one relay shard (more get 429). */
  readonly maxViewersPerIp: number;
  /** Viewer connection attempts per client address and minute on one relay shard (more get 429). */
  readonly viewerConnectsPerMinute: number;
  /** Frames a viewer may send per minute besides acks of new frames (a dashboard sends only those; past this its socket is closed). */
  readonly viewerMessagesPerMinute: number;
  /** A viewer with more frames than this sent and not acknowledged is paused (a slow reader). */
  readonly viewerLagFrames: number;
  /** … or with more characters than this sent and not acknowledged. */
  readonly viewerLagChars: number;
  /** A paused viewer that has not caught up after this long is closed (4408). */
  readonly viewerLagCloseMs: number;
  /** Delta bytes a viewer gets per second at most, on average; above it pushes are merged (0 = off). */
  readonly viewerBytesPerSecond: number;
  /** A view's hub counts as silent (the public page says "live data paused") after nothing for this long. */
  readonly hubSilentAfterMs: number;
  /** The dead-man webhook fires after the hub has been silent this long (DEADMAN_AFTER_S, in ms here). */
  readonly deadmanAfterMs: number;
  /** Where the dead-man webhook goes (a secret); null = none. */
  readonly deadmanWebhookUrl: string | null;
  /** HMAC-SHA256 key for the dead-man webhook's X-Sysmonstm-Signature (a secret); null = unsigned. */
  readonly deadmanWebhookSecret: string | null;
}

export class RelayConfigError extends Error {
  override name = 'RelayConfigError';
}

export const RELAY_DEFAULTS: RelayConfig = Object.freeze({
  relayShards: 1,
  offlineAfterMs: null,
  checkpointIntervalMs: 5_000,
  maxMachines: 10_000,
  maxViewersPerShard: 30_000,
  maxIngestFrameChars: 8 * 1024 * 1024,
  recentPoints: 60,
  maxViewersPerIp: 256,
  viewerConnectsPerMinute: 300,
  viewerMessagesPerMinute: 30,
  viewerLagFrames: 40,
  viewerLagChars: 2_000_000,
  viewerLagCloseMs: 30_000,
  viewerBytesPerSecond: 7000,
  hubSilentAfterMs: 60_000,
  deadmanAfterMs: 300_000,
  deadmanWebhookUrl: null,
  deadmanWebhookSecret: null,
});

function webhookUrl(vars: Readonly<Record<string, unknown>>, name: string): string | null {
  const raw = vars[name];
  if (raw === undefined || raw === null || raw === '') return null;
  let url: URL;
  try {
    url = new URL(String(raw).trim());
  } catch {
    throw new RelayConfigError(`${name} must be an http:// or https:// URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RelayConfigError(`${name} must be an http:// or https:// URL (got ${url.protocol})`);
  return url.toString();
}

function secret(vars: Readonly<Record<string, unknown>>, name: string): string | null {
  const raw = vars[name];
  if (raw === undefined || raw === null || raw === '') return null;
  return String(raw);
}

function integer(vars: Readonly<Record<string, unknown>>, name: string, fallback: number, min: number, max: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RelayConfigError(`${name} must be an integer between ${min} and ${max} (got "${String(raw)}")`);
  }
  return value;
}

/** Like integer(), null when unset. */
function optionalInteger(vars: Readonly<Record<string, unknown>>, name: string, min: number, max: number): number | null {
  const raw = vars[name];
  return raw === undefined || raw === null || raw === '' ? null : integer(vars, name, min, min, max);
}

export function parseRelayConfig(vars: Readonly<Record<string, unknown>>): RelayConfig {
  return Object.freeze({
    relayShards: integer(vars, 'RELAY_SHARDS', RELAY_DEFAULTS.relayShards, 1, 256),
    offlineAfterMs: optionalInteger(vars, 'OFFLINE_AFTER_MS', 100, 86_400_000),
    checkpointIntervalMs: integer(vars, 'CHECKPOINT_INTERVAL_MS', RELAY_DEFAULTS.checkpointIntervalMs, 100, 3_600_000),
    maxMachines: integer(vars, 'MAX_MACHINES', RELAY_DEFAULTS.maxMachines, 1, 20_000),
    maxViewersPerShard: integer(vars, 'MAX_VIEWERS_PER_SHARD', RELAY_DEFAULTS.maxViewersPerShard, 1, 1_000_000),
    maxIngestFrameChars: integer(vars, 'MAX_INGEST_FRAME_BYTES', RELAY_DEFAULTS.maxIngestFrameChars, 1024, 32 * 1024 * 1024),
    recentPoints: integer(vars, 'RECENT_POINTS', RELAY_DEFAULTS.recentPoints, 0, 600),
    maxViewersPerIp: integer(vars, 'MAX_VIEWERS_PER_IP', RELAY_DEFAULTS.maxViewersPerIp, 1, 1_000_000),
    viewerConnectsPerMinute: integer(vars, 'VIEWER_CONNECTS_PER_MINUTE', RELAY_DEFAULTS.viewerConnectsPerMinute, 1, 1_000_000),
    viewerMessagesPerMinute: integer(vars, 'VIEWER_MESSAGES_PER_MINUTE', RELAY_DEFAULTS.viewerMessagesPerMinute, 1, 100_000),
    viewerLagFrames: integer(vars, 'VIEWER_LAG_FRAMES', RELAY_DEFAULTS.viewerLagFrames, 24, 1_000_000),
    viewerLagChars: integer(vars, 'VIEWER_LAG_BYTES', RELAY_DEFAULTS.viewerLagChars, 524_288, 1024 * 1024 * 1024),
    viewerLagCloseMs: integer(vars, 'VIEWER_LAG_CLOSE_MS', RELAY_DEFAULTS.viewerLagCloseMs, 100, 3_600_000),
    viewerBytesPerSecond: integer(vars, 'VIEWER_BYTES_PER_S', RELAY_DEFAULTS.viewerBytesPerSecond, 0, 1_000_000_000),
    hubSilentAfterMs: integer(vars, 'HUB_SILENT_AFTER_MS', RELAY_DEFAULTS.hubSilentAfterMs, 100, 86_400_000),
    deadmanAfterMs: integer(vars, 'DEADMAN_AFTER_S', RELAY_DEFAULTS.deadmanAfterMs / 1000, 1, 604_800) * 1000,
    deadmanWebhookUrl: webhookUrl(vars, 'DEADMAN_WEBHOOK_URL'),
    deadmanWebhookSecret: secret(vars, 'DEADMAN_WEBHOOK_SECRET'),
  });
}
