// Current state in Redis, shared by every hub replica: one hash per machine (record JSON + latest
// encoded report), a set of machine ids, and a capped list as the recent ring. One pipeline per put;
// a batch of live updates is one server-side script call per PUT_MANY_CHUNK machines.
// Bringing a machine back up to date after an outage is one server-side script per machine (merge of
// the missed points into the ring by time), so it needs no read round trip and cannot interleave
// with a put of the same machine; many machines go out in one pipeline.
import type { Redis } from 'ioredis';
import { recordJson } from './record-json.ts';
import { RECENT_RING_SIZE, type MachineRecord, type RecentPoint, type StateStore } from './state-store.ts';

export interface RedisStateStore extends StateStore {
  putMany(items: ReadonlyArray<{ record: MachineRecord; report: Uint8Array }>): Promise<void>;
  /**
   * Writes a machine's latest record and report, and merges `points` (by time) into its recent ring:
   * used to bring Redis back up to date after an outage (fallback-state.ts).
   */
  resyncMachine(record: MachineRecord, report: Uint8Array | undefined, points: readonly RecentPoint[]): Promise<void>;
  /** resyncMachine for many machines in one pipeline (points of each oldest first); rejects when any failed. */
  resyncMany(items: ReadonlyArray<ResyncItem>): Promise<void>;
  /** Which of `ids` have no record in Redis (e.g. after Redis restarted without persistence). */
  missing(ids: readonly string[]): Promise<string[]>;
}

export interface ResyncItem {
  record: MachineRecord;
  report: Uint8Array | undefined;
  /** Oldest first. */
  points: readonly RecentPoint[];
}

/**
 * KEYS: machine hash, id set, ring. ARGV: ring size, record JSON, id, has-report flag, report, the
 * record's sample time, then the points as JSON (oldest first, each starting with {"t":…, as
 * JSON.stringify of a RecentPoint does). The record and report are written unless Redis holds a newer
 * sample of the machine (another process wrote it since this state was taken). Points newer than the
 * ring's last are appended; otherwise the ring is merged by time (a given point replaces one of the
 * same time) and rewritten. Returns how many points were given.
 */
const RESYNC_SCRIPT = `
local size = tonumber(ARGV[1])
local held = redis.call('HGET', KEYS[1], 'record')
local heldAt = nil
if held then
  local ok, r = pcall(cjson.decode, held)
  if ok and type(r) == 'table' then heldAt = tonumber(r.sampledAtMs) end
end
if (not heldAt) or heldAt <= tonumber(ARGV[6]) then
  redis.call('HSET', KEYS[1], 'record', ARGV[2])
  if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'report', ARGV[5]) end
end
redis.call('SADD', KEYS[2], ARGV[3])
local first = 7
local n = #ARGV - first + 1
if n <= 0 then return 0 end
local function t(p)
  local v = tonumber(string.match(p, '^{"t":([^,}]+)'))
  if v == nil then v = cjson.decode(p).t end
  return v
end
local last = redis.call('LINDEX', KEYS[3], -1)
if (not last) or t(last) < t(ARGV[first]) then
  for i = first, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  redis.call('LTRIM', KEYS[3], -size, -1)
  return n
end
local byTime = {}
local times = {}
local function add(p)
  local k = t(p)
  if byTime[k] == nil then times[#times + 1] = k end
  byTime[k] = p
end
for _, p in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do add(p) end
for i = first, #ARGV do add(ARGV[i]) end
table.sort(times)
local from = math.max(1, #times - size + 1)
local out = {}
for i = from, #times do out[#out + 1] = byTime[times[i]] end
redis.call('DEL', KEYS[3])
for i = 1, #out, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(out, i, math.min(i + 999, #out)))
end
return n
`;

/**
 * A batch of live updates in one command (putMany): KEYS = the id set, then each machine's hash and
 * ring; ARGV = ring size, then per machine its id, record JSON, report and recent point JSON. What the
 * four commands per machine did in a pipeline (HSET, SADD, RPUSH, LTRIM), without a reply or a client
 * command object per machine. Returns how many machines were written.
 */
const PUT_MANY_SCRIPT = `
local size = tonumber(ARGV[1])
local n = (#KEYS - 1) / 2
for i = 1, n do
  local a = 2 + (i - 1) * 4
  redis.call('HSET', KEYS[2 * i], 'record', ARGV[a + 1], 'report', ARGV[a + 2])
  redis.call('SADD', KEYS[1], ARGV[a])
  redis.call('RPUSH', KEYS[2 * i + 1], ARGV[a + 3])
  redis.call('LTRIM', KEYS[2 * i + 1], -size, -1)
end
return n
`;

/** Machines per putMany script call: a huge batch is split so one call never holds Redis long. */
export const PUT_MANY_CHUNK = 250;

type ResyncCommand = (machineKey: string, idsKey: string, ringKey: string, ...args: Array<string | Buffer>) => Promise<number>;

export function createRedisState(redis: Redis, options: { prefix?: string; ringSize?: number } = {}): RedisStateStore {
  const prefix = options.prefix ?? 'sysmonstm:';
  const ringSize = options.ringSize ?? RECENT_RING_SIZE;
  const idsKey = `${prefix}machines`;
  const machineKey = (id: string) => `${prefix}machine:${id}`;
  const ringKey = (id: string) => `${prefix}recent:${id}`;
  // EVALSHA with EVAL when the script is not loaded (ioredis), on the connection and its pipelines.
  if (!('sysmonstmResync' in redis)) redis.defineCommand('sysmonstmResync', { numberOfKeys: 3, lua: RESYNC_SCRIPT });
  // The number of keys is given per call (the first argument): a batch has two keys per machine.
  if (!('sysmonstmPutMany' in redis)) redis.defineCommand('sysmonstmPutMany', { lua: PUT_MANY_SCRIPT });
  const resyncArgs = ({ record, report, points }: ResyncItem): [string, string, string, ...Array<string | Buffer>] => [
    machineKey(record.id),
    idsKey,
    ringKey(record.id),
    String(ringSize),
    recordJson(record),
    record.id,
    report ? '1' : '0',
    report ? Buffer.from(report.buffer, report.byteOffset, report.byteLength) : '',
    String(record.sampledAtMs),
    ...[...points].sort((a, b) => a.t - b.t).map((p) => JSON.stringify({ t: p.t, metrics: p.metrics } satisfies RecentPoint)),
  ];

  return {
    kind: 'redis',
    async put(record, report) {
      const point: RecentPoint = { t: record.sampledAtMs, metrics: record.metrics };
      await redis
        .multi()
        .hset(machineKey(record.id), 'record', JSON.stringify(record), 'report', Buffer.from(report))
        .sadd(idsKey, record.id)
        .rpush(ringKey(record.id), JSON.stringify(point))
        .ltrim(ringKey(record.id), -ringSize, -1)
        .exec();
    },
    async putMany(items) {
      if (items.length === 0) return;
      // One script call per PUT_MANY_CHUNK machines, all in one pipeline (not a transaction: each
      // machine's keys are its own).
      const pipeline = redis.pipeline() as unknown as { sysmonstmPutMany(...args: Array<string | number | Buffer>): unknown; exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (let from = 0; from < items.length; from += PUT_MANY_CHUNK) {
        const chunk = items.slice(from, from + PUT_MANY_CHUNK);
        const keys: string[] = [idsKey];
        const args: Array<string | Buffer> = [String(ringSize)];
        for (const { record, report } of chunk) {
          keys.push(machineKey(record.id), ringKey(record.id));
          args.push(record.id, recordJson(record), Buffer.from(report.buffer, report.byteOffset, report.byteLength), JSON.stringify({ t: record.sampledAtMs, metrics: record.metrics } satisfies RecentPoint));
        }
        pipeline.sysmonstmPutMany(keys.length, ...keys, ...args);
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async get(id) {
      const raw = await redis.hget(machineKey(id), 'record');
      return raw ? (JSON.parse(raw) as MachineRecord) : undefined;
    },
    async list() {
      const ids = await redis.smembers(idsKey);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(machineKey(id), 'record');
      const results = (await pipeline.exec()) ?? [];
      const out: MachineRecord[] = [];
      for (const [err, raw] of results) {
        if (!err && typeof raw === 'string') out.push(JSON.parse(raw) as MachineRecord);
      }
      return out;
    },
    async count() {
      return redis.scard(idsKey);
    },
    async latestReport(id) {
      const buf = await redis.hgetBuffer(machineKey(id), 'report');
      return buf ? new Uint8Array(buf) : undefined;
    },
    async recent(id, limit = ringSize) {
      const raw = await redis.lrange(ringKey(id), -limit, -1);
      return raw.map((r) => JSON.parse(r) as RecentPoint);
    },
    async forget(id) {
      const results = (await redis.multi().srem(idsKey, id).del(machineKey(id), ringKey(id)).exec()) ?? [];
      return results.some(([err, n]) => !err && typeof n === 'number' && n > 0);
    },
    async resyncMachine(record, report, points) {
      await (redis as unknown as { sysmonstmResync: ResyncCommand }).sysmonstmResync(...resyncArgs({ record, report, points }));
    },
    async resyncMany(items) {
      if (items.length === 0) return;
      const pipeline = redis.pipeline() as unknown as { sysmonstmResync: (...args: Parameters<ResyncCommand>) => unknown; exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const item of items) pipeline.sysmonstmResync(...resyncArgs(item));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async missing(ids) {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.exists(machineKey(id));
      const results = (await pipeline.exec()) ?? [];
      return ids.filter((_, i) => results[i]?.[1] !== 1);
    },
    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {},
  };
}
