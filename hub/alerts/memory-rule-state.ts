// RuleStateStore in process memory, for the single-hub default (no REDIS_URL). The outbox is a queue
// drained in order by the one local handler; a failing handler (the database is down) is retried with
// backoff, never skipped. With a `file` (the hub passes DATA_DIR/alert-state.json) the state is loaded
// from it at start and written back at most every `saveDelayMs` after a change and at close, so active
// alerts, silences, acknowledgements and unrecorded transitions survive a restart.
import type { Logger } from '../log.ts';
import { readAlertSnapshot, writeAlertSnapshot } from './rule-state-file.ts';
import { activeKey, type ActiveAlert, type RuleStateStore, type MachineRuleStates, type OutboxEntry } from './rule-state-store.ts';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export interface MemoryRuleStateOptions {
  /** Where the state is kept between runs; none: memory only. */
  file?: string;
  /** Longest wait between a change and its write (default 1 s). */
  saveDelayMs?: number;
}

export function createMemoryRuleState(log: Logger, options: MemoryRuleStateOptions = {}): RuleStateStore {
  const machines = new Map<string, MachineRuleStates>();
  const active = new Map<string, ActiveAlert>();
  const outbox: OutboxEntry[] = [];
  const { file } = options;
  if (file) {
    try {
      const saved = readAlertSnapshot(file);
      if (saved) {
        for (const [id, m] of saved.machines) machines.set(id, m);
        for (const a of saved.active) active.set(activeKey(a.rule_id, a.machine), a);
        outbox.push(...saved.outbox);
        log.info({ file, machines: machines.size, active: active.size, unrecorded: outbox.length }, 'alert state restored');
      }
    } catch (err) {
      log.warn({ file, err: (err as Error).message }, 'the saved alert state could not be read; starting without it');
    }
  }
  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    if (!file) return saving;
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = undefined;
    const snapshot = { machines: new Map(machines), active: [...active.values()], outbox: [...outbox] };
    saving = saving
      .then(() => writeAlertSnapshot(file, snapshot))
      .catch((err: unknown) => log.warn({ file, err: (err as Error).message }, 'could not save the alert state'));
    return saving;
  };
  const saveSoon = () => {
    if (!file || saveTimer || closed) return;
    saveTimer = setTimeout(() => void save(), options.saveDelayMs ?? 1000);
    saveTimer.unref();
  };
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
      saveSoon();
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
      saveSoon();
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
        try {
          await handler([...outbox]);
          outbox.splice(0);
        } catch (err) {
          if (file) log.warn({ err: (err as Error).message, entries: outbox.length, file }, 'alert transitions not recorded at shutdown are kept for the next start');
          else log.warn({ err: (err as Error).message, entries: outbox.splice(0).length }, 'alert transitions not recorded at shutdown are lost (memory state)');
        }
      }
      await save();
    },
  };
}
