// Puts alerting together for the hub: the SQL store (rules, events, notification queue), the shared
// state (Redis when the hub has it, otherwise memory kept in DATA_DIR/alert-state.json between runs),
// the engine, the notification dispatcher and the API both gateways use. One close(), in order: stop
// evaluating and recording, then stop sending.
import path from 'node:path';
import type { SqlClient } from '../db.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Logger } from '../log.ts';
import type { RedisGateway } from '../redis.ts';
import type { StateStore } from '../state/state-store.ts';
import { createAlertApi, type AlertApi } from './alert-api.ts';
import { createAlertEngine, type AlertEngine } from './alert-engine.ts';
import { ALERT_STATE_FILE } from './rule-state-file.ts';
import type { RuleStateStore } from './rule-state-store.ts';
import { createAlertStore } from './alert-store.ts';
import { createMemoryRuleState } from './memory-rule-state.ts';
import { startNotificationDispatcher, type NotificationDispatcher } from './notification-dispatcher.ts';
import { createDestinationGuard, type Resolve } from './notify-destination.ts';
import { createRedisRuleState } from './redis-rule-state.ts';

export interface AlertingConfig {
  tickIntervalMs: number;
  claimIdleMs: number;
  notifyTimeoutMs: number;
  notifyRetries: number;
  notifyBackoffMs: number;
  /** NOTIFY_ALLOW_PRIVATE: notification URLs may point at loopback, link-local and private addresses. */
  notifyAllowPrivate?: boolean;
}

export interface Alerting {
  readonly api: AlertApi;
  readonly engine: AlertEngine;
  readonly dispatcher: NotificationDispatcher;
  /** Daily upkeep: sent notifications older than a week are deleted. */
  maintain(): Promise<void>;
  close(): Promise<void>;
}

export async function startAlerting(deps: {
  db: SqlClient;
  redis: RedisGateway | undefined;
  redisPrefix?: string;
  events: EventBus;
  machines: StateStore;
  log: Logger;
  config: AlertingConfig;
  /** Name resolution for the private-address check (default: the system's; tests inject one). */
  resolve?: Resolve;
  /** Without Redis the alert state is kept in `${dataDir}/alert-state.json` between runs. */
  dataDir?: string;
}): Promise<Alerting> {
  const log = deps.log.child({ part: 'alerts' });
  const store = createAlertStore(deps.db);
  const state: RuleStateStore = deps.redis
    ? createRedisRuleState(deps.redis.command, () => deps.redis!.dedicated('alerts-outbox'), log, { prefix: deps.redisPrefix, claimIdleMs: deps.config.claimIdleMs })
    : createMemoryRuleState(log, { file: deps.dataDir === undefined ? undefined : path.join(deps.dataDir, ALERT_STATE_FILE) });
  const destinations = createDestinationGuard({ allowPrivate: deps.config.notifyAllowPrivate ?? false, resolve: deps.resolve });
  const dispatcher = startNotificationDispatcher({
    store,
    log,
    destinations,
    timeoutMs: deps.config.notifyTimeoutMs,
    retries: deps.config.notifyRetries,
    backoffMs: deps.config.notifyBackoffMs,
  });
  const engine = createAlertEngine({
    store,
    state,
    events: deps.events,
    machines: deps.machines,
    log,
    tickIntervalMs: deps.config.tickIntervalMs,
    claimIdleMs: deps.config.claimIdleMs,
    onRecorded: () => dispatcher.nudge(),
  });
  try {
    await engine.start();
  } catch (err) {
    await dispatcher.close();
    await state.close().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    api: createAlertApi({ store, engine, onQueued: () => dispatcher.nudge(), testTimeoutMs: deps.config.notifyTimeoutMs, checkDestination: destinations.check }),
    engine,
    dispatcher,
    maintain: () => store.pruneSent(7),
    close() {
      closing ??= (async () => {
        await engine.close();
        await dispatcher.close();
      })();
      return closing;
    },
  };
}
