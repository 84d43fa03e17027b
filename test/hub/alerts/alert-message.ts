// The alert message the notification suites send: a rule name with Slack mentions to escape, a value
// to round.
import type { AlertMessage } from '../../../hub/alerts/notification.ts';

export const MESSAGE: AlertMessage = {
  kind: 'firing',
  rule_id: 'r-cpu',
  rule_name: 'CPU hot <!channel> @everyone',
  metric: 'cpu_percent',
  condition: 'cpu_percent > 90 for 300 s',
  severity: 'critical',
  machine: 'web-01',
  value: 97.123,
  since: 1_700_000_000_000,
  at: 1_700_000_300_000,
};
