// AlertStateStore in process memory, for the single-hub default (no REDIS_URL). The outbox is a queue
// drained in order by the one local handler; a failing handler (the database is down) is retried with
// backoff, never skipped.
import type { Logger } from '../log.ts';
import { activeKey, type ActiveAlert, type AlertStateStore, type MachineAlerts, type OutboxEntry } from './alert-state.ts';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export function createMemoryAlertState(log: Logger): AlertStateStore {
  const machines = new Map<string, MachineAlerts>();
  const active = new Map<string, ActiveAlert>();
  const outbox: OutboxEntry[] = [];
  const leases = new Map<string, number>();
  let rulesVersion = 0;
  let handler: ((entries: OutboxEntry[]) => Promise<void>) | undefined;
  let running: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = RETRY_MIN_MS;
  let closed = false;

  const drain = async () => {
    while (outbox.length > 0 && handler && !closed) {
      const batch = outbox.slice(0, 100);
      try {
        await handler(batch);
      } catch (err) {
        log.warn({ err: (err as Error).message, entries: batch.length, retryInMs: retryDelayMs }, 'recording alert transitions failed; retrying');
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          kick();
        }, retryDelayMs);
        retryDelayMs = Math.min(RETRY_MAX_MS, retryDelayMs * 2);
        return;
      }
      retryDelayMs = RETRY_MIN_MS;
      outbox.splice(0, batch.length);
    }
  };
  const kick = () => {
    if (running || retryTimer || closed) return;
    running = drain().finally(() => {
      running = undefined;
      if (outbox.length > 0 && !retryTimer) kick();
    });
  };

  return {
    kind: 'memory',
    async load(ids) {
      return new Map(ids.map((id) => [id, structuredClone(machines.get(id) ?? { version: 0, rules: {} })]));
    },
    async commit(machine, expectedVersion, rules, changes, entries) {
      const current = machines.get(machine)?.version ?? 0;
      if (current !== expectedVersion) return false;
      machines.set(machine, { version: current + 1, rules: structuredClone(rules) });
      for (const c of changes) {
        if (c.alert) active.set(activeKey(c.ruleId, c.machine), { ...c.alert });
        else active.delete(activeKey(c.ruleId, c.machine));
      }
      if (entries.length) {
        outbox.push(...entries);
        kick();
      }
      return true;
    },
    async active() {
      return [...active.values()].map((a) => ({ ...a }));
    },
    consumeOutbox(h) {
      handler = h;
      kick();
    },
    async rulesVersion() {
      return rulesVersion;
    },
    async bumpRulesVersion() {
      rulesVersion++;
    },
    async tryLease(name, ttlMs) {
      const now = Date.now();
      if ((leases.get(name) ?? 0) > now) return false;
      leases.set(name, now + ttlMs);
      return true;
    },
    async close() {
      if (closed) return;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await running;
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      // One last attempt for what is still queued (the database closes after this store).
      if (outbox.length && handler) {
        const rest = outbox.splice(0);
        try {
          await handler(rest);
        } catch (err) {
          log.warn({ err: (err as Error).message, entries: rest.length }, 'alert transitions not recorded at shutdown are lost (memory state)');
        }
      }
    },
  };
}
