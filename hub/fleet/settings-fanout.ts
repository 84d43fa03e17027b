// A machine's new settings reach its live stream on whichever hub holds it. A PUT lands on one hub (or
// one of several hub processes); the collector may be streaming to another. With Redis every hub
// subscribes to one pub/sub channel: the hub that stored the settings pushes them to its own streams
// and publishes {machine, intervalMs, from}; every other hub pushes them to the machine's stream if it
// holds it. Pub/sub is enough: a collector that misses the message (its hub was reconnecting to Redis)
// gets the stored value in the Welcome of its next connection. Without Redis there is one hub.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isMachineId } from '../../proto/machine-id.ts';
import { intervalProblem, type MachineSettingsJson } from '../../proto/machine-settings.ts';
import type { Logger } from '../log.ts';

export interface SettingsChange {
  machine: string;
  intervalMs: number;
  /** The hub that stored it (it has pushed already). */
  from: string;
}

/** Pure: a channel message → the change it carries, or undefined when it is not one. */
export function parseSettingsChange(message: string): SettingsChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { machine, intervalMs, from } = value as Record<string, unknown>;
  if (!isMachineId(machine) || typeof from !== 'string' || intervalProblem(intervalMs) !== undefined) return undefined;
  return { machine, intervalMs: intervalMs as number, from };
}

export interface SettingsFanout {
  /** Pushes to this hub's stream of the machine and tells the other hubs; true when this hub held it. */
  changed(machine: string, settings: MachineSettingsJson): Promise<boolean>;
  close(): Promise<void>;
}

export function createSettingsFanout(deps: {
  /** Sends Settings to the machine's live stream on this hub; false when it has none. */
  push: (machine: string, settings: MachineSettingsJson) => boolean;
  log: Logger;
  /** With Redis: the command connection (PUBLISH) and a dedicated one for SUBSCRIBE. */
  redis?: { command: Redis; subscriber: Redis; prefix?: string };
}): SettingsFanout {
  const self = randomUUID();
  const redis = deps.redis;
  const channel = `${redis?.prefix ?? 'sysmonstm:'}settings`;
  if (redis) {
    redis.subscriber.subscribe(channel).catch((err: Error) => deps.log.warn({ err: err.message }, 'settings channel: subscribe failed'));
    redis.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const change = parseSettingsChange(message);
      if (!change || change.from === self) return;
      if (deps.push(change.machine, { intervalMs: change.intervalMs })) deps.log.info({ machine: change.machine, intervalMs: change.intervalMs }, 'machine settings pushed (changed on another hub)');
    });
  }
  return {
    async changed(machine, settings) {
      const pushed = deps.push(machine, settings);
      if (redis) {
        const change: SettingsChange = { machine, intervalMs: settings.intervalMs, from: self };
        await redis.command.publish(channel, JSON.stringify(change)).catch((err: Error) => deps.log.warn({ err: err.message, machine }, 'settings channel: publish failed; other hubs send it at the next reconnect'));
      }
      return pushed;
    },
    async close() {
      await redis?.subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}
