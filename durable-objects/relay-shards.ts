// Where a view's Durable Objects live: its relay shards view:<slug>:0 … view:<slug>:(N-1) and its
// coordinator view:<slug>. Used by the Worker's routes and by the coordinator, which talks to the
// shards. `Env` is the global the Worker's configuration generates (worker/worker-configuration.d.ts);
// the stubs' types come from its bindings, so this module imports neither object (no cycle).

/** The name of shard `index` of a view's relay: `view:<slug>:<index>`. Each view is its own object(s). */
export function relayShardName(slug: string, index: number): string {
  return `view:${slug}:${index}`;
}

/** Relay shards of a view are named objects view:<slug>:0 … view:<slug>:(N-1). With one shard the hub
 *  talks to view:<slug>:0 directly. */
export function relayShard(env: Env, slug: string, index: number) {
  return env.FLEET_RELAY.get(env.FLEET_RELAY.idFromName(relayShardName(slug, index)));
}

export function fleetCoordinator(env: Env, slug: string) {
  return env.FLEET_COORDINATOR.get(env.FLEET_COORDINATOR.idFromName(`view:${slug}`));
}
