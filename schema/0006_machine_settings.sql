-- What the owner set for a machine (PUT /api/machines/{id}/settings, hub/fleet/machine-settings.ts):
-- its report interval, sent to its collector in the Welcome and pushed to a live stream. Common to both
-- paths. Shared by every hub replica on this database; a forgotten machine keeps its row.
CREATE TABLE machine_settings (
  machine_id text PRIMARY KEY,
  -- 0 = the collector's own COLLECTION_INTERVAL; otherwise 100 ms .. 1 h (the collector's bounds).
  interval_ms integer NOT NULL CHECK (interval_ms = 0 OR interval_ms BETWEEN 100 AND 3600000),
  updated_at timestamptz NOT NULL DEFAULT now()
);
