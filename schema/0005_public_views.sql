-- Public views (hub/views/): the views made through the API, the link secrets of every view (the
-- file's views too, so a link survives a restart and rotation works for them), the revocations the
-- relay has not taken yet, and the hub's view salt (keys machines' opaque per-view ids). Shared by
-- every hub replica on this database.

-- A view made through the API or the dashboard: the definition as proto/public-view.ts validates it.
CREATE TABLE public_views (
  slug text PRIMARY KEY,
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The secret of an `access: link` view (URL-safe base64, 128 bits or more). Only its SHA-256 leaves the hub.
CREATE TABLE public_view_secrets (
  slug text PRIMARY KEY,
  secret text NOT NULL,
  rotated_at timestamptz NOT NULL DEFAULT now()
);

-- A deleted view whose revoke frame the relay has not taken yet; removed once it has.
CREATE TABLE public_view_tombstones (
  slug text PRIMARY KEY,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

-- Hub-wide settings of the views: the row 'view_salt' (a random secret, written once).
CREATE TABLE public_view_settings (
  name text PRIMARY KEY,
  value text NOT NULL
);
