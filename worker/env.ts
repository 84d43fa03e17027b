// The Worker's bindings and variables (wrangler.toml [vars] + the HUB_TOKEN and DEADMAN_* secrets). The typed Env is
// the edge's configuration; parseRelayConfig turns the string variables into numbers once.
import type { FleetCoordinator } from '../durable-objects/fleet-coordinator.ts';
import type { FleetRelay } from '../durable-objects/fleet-relay.ts';

export interface Env {
  ASSETS: Fetcher;
  FLEET_RELAY: DurableObjectNamespace<FleetRelay>;
  FLEET_COORDINATOR: DurableObjectNamespace<FleetCoordinator>;
  /** Secret shared with the hub (EDGE_API_KEY there). Unset: /ingest refuses everyone. */
  HUB_TOKEN?: string;
  RELAY_SHARDS?: string;
  OFFLINE_AFTER_MS?: string;
  CHECKPOINT_INTERVAL_MS?: string;
  MAX_MACHINES?: string;
  MAX_VIEWERS_PER_SHARD?: string;
  MAX_INGEST_FRAME_BYTES?: string;
  RECENT_POINTS?: string;
  MAX_VIEWERS_PER_IP?: string;
  VIEWER_CONNECTS_PER_MINUTE?: string;
  VIEWER_MESSAGES_PER_MINUTE?: string;
  HUB_SILENT_AFTER_MS?: string;
  DEADMAN_AFTER_S?: string;
  VIEWER_LAG_FRAMES?: string;
  VIEWER_LAG_BYTES?: string;
  VIEWER_LAG_CLOSE_MS?: string;
  VIEWER_BYTES_PER_S?: string;
  /** Secret: where the relay's alarm posts the dead-man notice when the hub goes silent. */
  DEADMAN_WEBHOOK_URL?: string;
  /** Secret: HMAC-SHA256 key signing the dead-man notice (X-Sysmonstm-Signature). */
  DEADMAN_WEBHOOK_SECRET?: string;
}

/** The name of shard `index` of a view's relay: `view:<slug>:<index>`. Each view is its own object(s). */
export function relayShardName(slug: string, index: number): string {
  return `view:${slug}:${index}`;
}

/** Relay shards of a view are named objects view:<slug>:0 … view:<slug>:(N-1). With one shard the hub
 *  talks to view:<slug>:0 directly. */
export function relayShard(env: Env, slug: string, index: number): DurableObjectStub<FleetRelay> {
  return env.FLEET_RELAY.get(env.FLEET_RELAY.idFromName(relayShardName(slug, index)));
}

export function fleetCoordinator(env: Env, slug: string): DurableObjectStub<FleetCoordinator> {
  return env.FLEET_COORDINATOR.get(env.FLEET_COORDINATOR.idFromName(`view:${slug}`));
}
