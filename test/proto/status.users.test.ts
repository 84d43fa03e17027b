// The one rule for "offline" (proto/status.ts) and its three users: the hub (machine status, the
// alert-driven status, the offline alert metric), the relay (machines it hears nothing about) and the
// dashboard (stale, then offline).
import { describe, expect, it } from 'vitest';
import { createFleetEncoder, createFleetReader, decodeFleetMessage, type MachineView } from '../../proto/delta.ts';
import {
  DEFAULT_INTERVAL_MS,
  intervalOrDefault,
  isOffline,
  machineStatus,
  offlineAfterMs,
  silence,
  silentForSeconds,
  staleAfterMs,
  statusFromAlerts,
} from '../../proto/status.ts';
import { FleetPicture } from '../../durable-objects/fleet-picture.ts';
import { parseRelayConfig } from '../../durable-objects/relay-config.ts';
import { freshness } from '../../web/src/freshness.ts';
import { toSummary } from '../../hub/fleet/fleet-query.ts';
import type { MachineRecord } from '../../hub/state/state-store.ts';
import { createAlertEngine } from '../../hub/alerts/alert-engine.ts';
import type { AlertStore } from '../../hub/alerts/alert-store.ts';
import { createMemoryRuleState } from '../../hub/alerts/memory-rule-state.ts';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createLogger } from '../../hub/log.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';

const INTERVALS = [100, 1000, 2000, 4000, 30_000];

describe('the silence rule', () => {
  it('offline after 5 intervals and at least 10 s; stale after 3 intervals and at least 3 s', () => {
    expect(INTERVALS.map(offlineAfterMs)).toEqual([10_000, 10_000, 10_000, 20_000, 150_000]);
    expect(INTERVALS.map(staleAfterMs)).toEqual([3_000, 3_000, 6_000, 12_000, 90_000]);
  });

  it('an unusable interval is the default one', () => {
    expect(DEFAULT_INTERVAL_MS).toBe(1000);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(intervalOrDefault(bad)).toBe(DEFAULT_INTERVAL_MS);
    expect(intervalOrDefault(250)).toBe(250);
    expect(staleAfterMs(0)).toBe(3_000);
  });

  it('classifies a silence: live up to the stale time, stale up to the offline time, then offline', () => {
    for (const interval of INTERVALS) {
      const stale = staleAfterMs(interval);
      const offline = offlineAfterMs(interval);
      expect(silence(0, interval, stale), `${interval}`).toBe('live');
      expect(silence(0, interval, stale + 1), `${interval}`).toBe('stale');
      expect(silence(0, interval, offline), `${interval}`).toBe('stale');
      expect(silence(0, interval, offline + 1), `${interval}`).toBe('offline');
      expect(isOffline(0, interval, offline)).toBe(false);
      expect(isOffline(0, interval, offline + 1)).toBe(true);
    }
  });

  it('seconds of silence, never negative (a clock a little behind)', () => {
    expect(silentForSeconds(1_000, 76_000)).toBe(75);
    expect(silentForSeconds(5_000, 4_000)).toBe(0);
  });
});

describe('its users', () => {
  const record = (intervalMs: number, lastSeenMs: number): MachineRecord =>
    ({ id: 'm', hostname: 'h', displayName: 'm', labels: {}, intervalMs, lastSeq: 1, lastSeenMs, metrics: { cpu_percent: 10 } }) as unknown as MachineRecord;

  it('the hub: a machine is offline in the REST answer, the threshold and the alert-driven status exactly after offlineAfterMs(its interval)', () => {
    for (const interval of INTERVALS) {
      const after = offlineAfterMs(interval);
      expect(toSummary(record(interval, 0), after).status, `${interval}`).toBe('healthy');
      expect(toSummary(record(interval, 0), after + 1).status, `${interval}`).toBe('offline');
      expect(machineStatus({ cpu_percent: 99 }, 0, interval, after + 1)).toBe('offline');
      expect(statusFromAlerts(0, interval, after, 'critical')).toBe('critical');
      expect(statusFromAlerts(0, interval, after + 1, 'critical')).toBe('offline');
    }
  });

  it("the hub's alert engine colours a machine offline exactly after offlineAfterMs(its interval)", () => {
    const log = createLogger({ level: 'silent', format: 'json', name: 'test' });
    // Never started, so no rule is loaded and the store is not read: statusOf falls back to the thresholds.
    const engine = createAlertEngine({ store: {} as AlertStore, state: createMemoryRuleState(log), events: createMemoryEvents(log), machines: createMemoryState(), log, tickIntervalMs: 1000, claimIdleMs: 1000 });
    for (const interval of INTERVALS) {
      const m = { id: 'm', metrics: record(interval, 0).metrics, lastSeenMs: 0, intervalMs: interval };
      expect(engine.statusOf(m, offlineAfterMs(interval)), `${interval}`).toBe('healthy');
      expect(engine.statusOf(m, offlineAfterMs(interval) + 1), `${interval}`).toBe('offline');
    }
  });

  it('the relay: without OFFLINE_AFTER_MS a machine it hears nothing about goes offline after offlineAfterMs(the interval the hub sent)', () => {
    expect(parseRelayConfig({}).offlineAfterMs).toBeNull();
    for (const interval of INTERVALS) {
      const relay = new FleetPicture({ maxMachines: 10, offlineAfterMs: parseRelayConfig({}).offlineAfterMs });
      const hub = createFleetEncoder();
      const m: MachineView = { id: 'm', name: 'm', host: 'h', status: 'healthy', labels: {}, intervalMs: interval, lastSeen: 500, values: {} };
      relay.ingest(hub.restart([m], 1000), 0);
      const viewer = createFleetReader();
      viewer.read(decodeFleetMessage(relay.snapshotText()));
      expect(relay.sweep(offlineAfterMs(interval) - 1), `${interval}`).toBeNull();
      const swept = relay.sweep(offlineAfterMs(interval));
      expect(swept, `${interval}`).not.toBeNull();
      expect(viewer.read(decodeFleetMessage(swept!))).toMatchObject({ t: 'd', updates: [['m', 500, { s: 'offline' }]] });
    }
  });

  it('the relay: OFFLINE_AFTER_MS still sets a fixed time', () => {
    const relay = new FleetPicture({ maxMachines: 10, offlineAfterMs: parseRelayConfig({ OFFLINE_AFTER_MS: '1500' }).offlineAfterMs });
    const m: MachineView = { id: 'm', name: 'm', host: 'h', status: 'healthy', labels: {}, intervalMs: 60_000, lastSeen: 0, values: {} };
    relay.ingest(createFleetEncoder().restart([m], 0), 0);
    expect(relay.sweep(1499)).toBeNull();
    expect(relay.sweep(1500)).not.toBeNull();
  });

  it('the dashboard: stale after staleAfterMs(interval); offline only when the hub or relay says so', () => {
    for (const interval of INTERVALS) {
      const m = { status: 'healthy' as const, lastSeen: 0, intervalMs: interval };
      expect(freshness(m, staleAfterMs(interval)), `${interval}`).toBe('live');
      expect(freshness(m, staleAfterMs(interval) + 1), `${interval}`).toBe('stale');
      expect(freshness(m, offlineAfterMs(interval) + 1), `${interval}`).toBe('stale');
      expect(freshness({ ...m, status: 'offline' }, 0)).toBe('offline');
    }
  });
});
