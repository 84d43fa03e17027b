-- Alerts: rules, saved notification channels, every alert transition, and the notification queue
-- (its dead letters included). Common to both paths. The four default rules are seeded here, once:
-- a rule the owner edits or deletes stays that way.

-- A rule as the REST API shows it (hub/alerts/alert-rule.ts validates every field before a write).
CREATE TABLE alert_rules (
  id text PRIMARY KEY,
  name text NOT NULL,
  -- cpu_percent, memory_percent, disk_percent, load_avg_1m/5m/15m, network_recv/sent_bytes_sec,
  -- temperature_c, or offline (seconds since the machine's last report).
  metric text NOT NULL,
  op text NOT NULL CHECK (op IN ('>', '<')),
  threshold double precision NOT NULL,
  for_s double precision NOT NULL DEFAULT 0,
  clear_threshold double precision NOT NULL,
  severity text NOT NULL CHECK (severity IN ('warning', 'critical')),
  -- Reminder interval while firing (0: none).
  repeat_s double precision NOT NULL DEFAULT 0,
  -- disk_percent only: one filesystem by mount point (NULL: the fullest one).
  mount text,
  -- {"machines": [...], "labels": {...}}; {} is every machine.
  scope jsonb NOT NULL DEFAULT '{}',
  -- [{"type", "url", "secret"?} | "<saved channel id>", ...]
  channels jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Channels saved once and referenced by id from any number of rules.
CREATE TABLE alert_channels (
  id text PRIMARY KEY,
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('webhook', 'slack', 'discord', 'ntfy')),
  url text NOT NULL,
  secret text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Every transition (pending, firing, resolved, ok) and every action (acknowledged, silenced, removed).
-- transition_id is unique: a transition delivered twice (a hub crashed before acknowledging it) is
-- stored once.
CREATE TABLE alert_events (
  id bigserial PRIMARY KEY,
  transition_id text NOT NULL UNIQUE,
  time timestamptz NOT NULL,
  rule_id text NOT NULL,
  rule_name text NOT NULL,
  machine_id text NOT NULL,
  state text NOT NULL,
  severity text NOT NULL,
  value double precision,
  detail text
);
CREATE INDEX alert_events_time_idx ON alert_events (time DESC, id DESC);
CREATE INDEX alert_events_machine_idx ON alert_events (machine_id, id DESC);

-- The notification queue: one row per (notification, channel). Hubs claim due rows with a lease,
-- retry with exponential backoff, and after the last attempt mark the row dead (the dead letters).
CREATE TABLE alert_notifications (
  id bigserial PRIMARY KEY,
  -- `${transition id}:${channel index}`: a notification is queued once.
  dedupe_key text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL,
  rule_id text NOT NULL,
  machine_id text NOT NULL,
  channel_type text NOT NULL,
  channel_url text NOT NULL,
  channel_secret text,
  -- The alert message; rendered for the channel type at each attempt.
  message jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_error text,
  finished_at timestamptz
);
CREATE INDEX alert_notifications_due_idx ON alert_notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_notifications_dead_idx ON alert_notifications (finished_at DESC) WHERE status = 'dead';

-- Defaults out of the box.
INSERT INTO alert_rules (id, name, metric, op, threshold, for_s, clear_threshold, severity, repeat_s) VALUES
  ('default-cpu', 'CPU above 90 % for 5 minutes', 'cpu_percent', '>', 90, 300, 85, 'warning', 3600),
  ('default-memory', 'Memory above 90 %', 'memory_percent', '>', 90, 0, 85, 'warning', 3600),
  ('default-disk', 'Disk above 90 %', 'disk_percent', '>', 90, 0, 88, 'critical', 3600),
  ('default-offline', 'Machine offline for 1 minute', 'offline', '>', 60, 0, 60, 'critical', 3600);
