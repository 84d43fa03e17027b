// The Worker's bindings and variables (wrangler.toml [vars] + the HUB_TOKEN secret). The typed Env is
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
}

/** Relay shards are named objects: relay-0 … relay-(N-1). With one shard the hub talks to relay-0 directly. */
export function relayShard(env: Env, index: number): DurableObjectStub<FleetRelay> {
  return env.FLEET_RELAY.get(env.FLEET_RELAY.idFromName(`relay-${index}`));
}

export function fleetCoordinator(env: Env): DurableObjectStub<FleetCoordinator> {
  return env.FLEET_COORDINATOR.get(env.FLEET_COORDINATOR.idFromName('coordinator'));
}
