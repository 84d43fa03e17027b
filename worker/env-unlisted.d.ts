// What the Worker reads that `wrangler types` cannot see in wrangler.toml, merged into the generated
// global Env (worker-configuration.d.ts): the secrets (`npx wrangler secret put NAME`; locally in
// .dev.vars) and the variables unset by default (`wrangler dev --var NAME:value`, or add them to [vars]).
interface Env {
  /** A fixed offline time for the relay; unset: the hub's rule (proto/status.ts). */
  OFFLINE_AFTER_MS?: string;
  /** Secret shared with the hub (EDGE_API_KEY there). Unset: /ingest refuses everyone. */
  HUB_TOKEN?: string;
  /** Secret: where the relay's alarm posts the dead-man notice when the hub goes silent. */
  DEADMAN_WEBHOOK_URL?: string;
  /** Secret: HMAC-SHA256 key signing the dead-man notice (X-Sysmonstm-Signature). */
  DEADMAN_WEBHOOK_SECRET?: string;
}
