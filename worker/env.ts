// The Worker's bindings and variables: the global `Env`, generated from wrangler.toml by
// `npm run types:worker` (worker/worker-configuration.d.ts) plus the secrets HUB_TOKEN and DEADMAN_*
// (worker/env-unlisted.d.ts). The typed Env is the edge's configuration; parseRelayConfig
// (durable-objects/relay-config.ts) turns the string variables into numbers once. Nothing here imports
// back from the Worker: the Durable Objects use the same global.
type WorkerEnv = Env;
export type { WorkerEnv as Env };
export { fleetCoordinator, relayShard, relayShardName } from '../durable-objects/relay-shards.ts';
