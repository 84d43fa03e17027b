// How the hub learns a view's relay shard count: the Worker answers every hub socket's upgrade
// (/ingest?view=<slug>&shard=<i>) with the header below, and the hub's forwarder then holds one socket
// per shard. One source of truth (the Worker's RELAY_SHARDS), so the two sides cannot disagree. Pure.

/** Response header of the hub's /ingest upgrade: the view's relay shard count (RELAY_SHARDS). */
export const RELAY_SHARDS_HEADER = 'X-Relay-Shards';
/** The Worker refuses a shard index of more than three digits, so this is the most there can be. */
export const MAX_RELAY_SHARDS = 1000;

/** The shard count from the header's value, or null when it is absent or not a count. */
export function parseRelayShards(value: string | string[] | null | undefined): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === null || !/^\d{1,4}$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return n >= 1 && n <= MAX_RELAY_SHARDS ? n : null;
}

/** The ingest URL of one shard: the view's ingest URL with `shard=<index>`. */
export function shardIngestUrl(ingestUrl: string, index: number): string {
  const u = new URL(ingestUrl);
  u.searchParams.set('shard', String(index));
  return u.toString();
}
