// RuleStateStore on Redis, shared by every hub on the same Redis (and key prefix):
//   <prefix>alerts:m:<machine>      hash {v: version, s: JSON of every rule's RuleState}
//   <prefix>alerts:active           hash "<rule> <machine>" → JSON ActiveAlert
//   <prefix>alerts:outbox           stream of OutboxEntry JSON, consumed by the group "recorder"
//   <prefix>alerts:rules-version    counter bumped on every rule change
//   <prefix>alerts:active-version   counter bumped by every commit that changes the active index
//   <prefix>alerts:lease:<name>     SET NX PX leases
// One Lua script checks the version, writes the state, updates the active index and appends to the
// outbox atomically, so a transition is either fully made (and will be recorded) or not at all.
import type { Redis } from 'ioredis';
import { consumerName, ensureGroup, startStreamGroupReader, type StreamGroupReader } from '../events/redis-stream-group.ts';
import type { Logger } from '../log.ts';
import { activeKey, type ActiveAlert, type RuleStateStore, type MachineRuleStates, type OutboxEntry } from './rule-state-store.ts';
import type { RuleState } from './evaluate.ts';

export const OUTBOX_MAXLEN = 100_000;
export const RECORDER_GROUP = 'recorder';

// KEYS: state hash, active hash, outbox stream, active-version counter.
// ARGV: expected version, state JSON, outbox maxlen, n active changes, n × (field, JSON or ''), outbox entries...
const COMMIT_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'v')
if (current or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(ARGV[1]) + 1), 's', ARGV[2])
local n = tonumber(ARGV[4])
local i = 5
for _ = 1, n do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
  i = i + 2
end
if n > 0 then redis.call('INCR', KEYS[4]) end
while i <= #ARGV do
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[i])
  i = i + 1
end
return 1
`;

/**
 * KEYS: the state hashes of a batch's machines. Returns their version and state JSON, two entries per
 * machine (nil where absent): what one HMGET per machine did, as one command per LOAD_CHUNK machines.
 */
const LOAD_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local r = redis.call('HMGET', KEYS[i], 'v', 's')
  out[2 * i - 1] = r[1]
  out[2 * i] = r[2]
end
return out
`;

/** Machines per load script call. */
export const LOAD_CHUNK = 250;

type LoadCommand = (keyCount: number, ...keys: string[]) => unknown;

type CommitCommand = (
  stateKey: string,
  activeKey: string,
  outboxKey: string,
  activeVersionKey: string,
  ...args: Array<string | number>
) => Promise<number>;

export interface RedisRuleStateOptions {
  prefix?: string;
  /** Outbox entries pending this long at a silent hub are claimed by another. */
  claimIdleMs: number;
}

export function createRedisRuleState(command: Redis, openBlocking: () => Redis, log: Logger, options: RedisRuleStateOptions): RuleStateStore & { readonly outboxKey: string } {
  const prefix = options.prefix ?? 'sysmonstm:';
  const stateKey = (machine: string) => `${prefix}alerts:m:${machine}`;
  const activeHash = `${prefix}alerts:active`;
  const outboxKey = `${prefix}alerts:outbox`;
  const versionKey = `${prefix}alerts:rules-version`;
  const activeVersionKey = `${prefix}alerts:active-version`;
  if (!(command as unknown as { sysmonstmAlertCommitV2?: CommitCommand }).sysmonstmAlertCommitV2) {
    command.defineCommand('sysmonstmAlertCommitV2', { numberOfKeys: 4, lua: COMMIT_SCRIPT });
  }
  const commit = (command as unknown as { sysmonstmAlertCommitV2: CommitCommand }).sysmonstmAlertCommitV2.bind(command);
  // The number of keys is given per call: one per machine of the chunk.
  if (!('sysmonstmAlertLoad' in command)) command.defineCommand('sysmonstmAlertLoad', { lua: LOAD_SCRIPT });
  let reader: StreamGroupReader | undefined;
  // The group exists before the first transition is written, so no entry is ever missed by it.
  const groupReady = ensureGroup(command, outboxKey, RECORDER_GROUP, '0').catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'could not create the alert outbox group yet; the reader retries');
  });

  return {
    kind: 'redis',
    outboxKey,
    async load(machines) {
      const out = new Map<string, MachineRuleStates>();
      if (machines.length === 0) return out;
      const pipeline = command.pipeline() as unknown as { sysmonstmAlertLoad: LoadCommand; exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (let from = 0; from < machines.length; from += LOAD_CHUNK) {
        const keys = machines.slice(from, from + LOAD_CHUNK).map(stateKey);
        pipeline.sysmonstmAlertLoad(keys.length, ...keys);
      }
      const results = (await pipeline.exec()) ?? [];
      machines.forEach((m, i) => {
        const [err, value] = results[Math.floor(i / LOAD_CHUNK)] ?? [new Error('no reply'), null];
        if (err) throw err;
        const at = 2 * (i % LOAD_CHUNK);
        const v = (value as Array<string | null>)[at] ?? null;
        const s = (value as Array<string | null>)[at + 1] ?? null;
        let rules: Record<string, RuleState> = {};
        if (s) {
          try {
            rules = JSON.parse(s) as Record<string, RuleState>;
          } catch {
            log.warn({ machine: m }, 'unreadable alert state; starting it over');
          }
        }
        out.set(m, { version: v ? Number(v) : 0, rules });
      });
      return out;
    },
    async commit(machine, expectedVersion, rules, changes, entries) {
      const args: Array<string | number> = [String(expectedVersion), JSON.stringify(rules), OUTBOX_MAXLEN, changes.length];
      for (const c of changes) args.push(activeKey(c.ruleId, c.machine), c.alert ? JSON.stringify(c.alert) : '');
      for (const e of entries) args.push(JSON.stringify(e));
      return (await commit(stateKey(machine), activeHash, outboxKey, activeVersionKey, ...args)) === 1;
    },
    async active() {
      const all = await command.hgetall(activeHash);
      const out: ActiveAlert[] = [];
      for (const [key, value] of Object.entries(all)) {
        try {
          out.push(JSON.parse(value) as ActiveAlert);
        } catch {
          log.warn({ key }, 'unreadable active alert entry; skipped');
        }
      }
      return out;
    },
    consumeOutbox(handler) {
      if (reader) throw new Error('the alert outbox already has a handler in this hub');
      reader = startStreamGroupReader({
        command,
        blocking: openBlocking(),
        stream: outboxKey,
        group: RECORDER_GROUP,
        consumer: consumerName(),
        startId: '0',
        claimIdleMs: options.claimIdleMs,
        log,
        async handle(batch) {
          await groupReady;
          const entries: OutboxEntry[] = [];
          for (const item of batch) {
            try {
              if (item.value !== undefined) entries.push(JSON.parse(item.value) as OutboxEntry);
            } catch {
              log.warn({ id: item.id }, 'skipping malformed alert outbox entry');
            }
          }
          if (entries.length) await handler(entries);
        },
      });
    },
    async activeVersion() {
      return Number((await command.get(activeVersionKey)) ?? 0);
    },
    async rulesVersion() {
      return Number((await command.get(versionKey)) ?? 0);
    },
    async bumpRulesVersion() {
      await command.incr(versionKey);
    },
    async tryLease(name, ttlMs) {
      return (await command.set(`${prefix}alerts:lease:${name}`, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
    },
    async close() {
      await reader?.close();
    },
  };
}
