// Offline detection cost — what one ALERT_TICK_INTERVAL tick reads to find silent machines, on the
// Redis state store (127.0.0.1:6379, a key prefix of its own, deleted afterwards) with `--machines`
// machines (default 10,000), `--silent` of them past the offline threshold (default 10): before, the
// ticking hub listed every machine (`state.list()`) and checked the offline rules against each; now
// it takes the due machines from the deadline heap (offline-deadlines.ts) and reads only those
// (`state.get`). Also: the per-report cost of keeping the deadlines (every hub, every report).
// Bounded in count; loopback only. Run: node bench/offline-tick.ts [--machines 10000] [--silent 10] [--rounds 5]
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AlertRule } from '../hub/alerts/alert-rule.ts';
import { ruleApplies } from '../hub/alerts/alert-rule.ts';
import { createOfflineWatch } from '../hub/alerts/offline-deadlines.ts';
import { indexRules } from '../hub/alerts/rule-index.ts';
import { createRedisState } from '../hub/state/redis-state.ts';
import type { MachineRecord } from '../hub/state/state-store.ts';
import { REDIS_URL } from '../test/support/servers.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const machines = flag('machines', 10_000);
const silent = flag('silent', 10);
const rounds = flag('rounds', 5);

const rule = { id: 'silent', name: 'Silent', metric: 'offline', op: '>', threshold: 60, clear_threshold: 60, for_s: 0, severity: 'critical', scope: {}, channels: [], repeat_s: 0, mount: null } as AlertRule;
const index = indexRules([rule]);
const now = Date.now();
const record = (i: number): MachineRecord => {
  const lastSeenMs = i < silent ? now - 120_000 : now - 1000;
  return { id: `bench-${i}`, hostname: `bench-${i}`, displayName: `bench-${i}`, labels: { rack: String(i % 40) }, lastSeenMs, sampledAtMs: lastSeenMs, lastSeq: 1, intervalMs: 1000, metrics: { cpu_percent: 12, memory_percent: 40, disk_percent: 55 } as MachineRecord['metrics'] };
};

const redis = new Redis(REDIS_URL);
const prefix = `sysmonstm-bench:${randomUUID()}:`;
const state = createRedisState(redis, { prefix });
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
try {
  for (let i = 0; i < machines; i += 500) {
    await state.putMany!(Array.from({ length: Math.min(500, machines - i) }, (_, k) => ({ record: record(i + k), report: new Uint8Array(64) })));
  }

  // Before: list every machine, keep those an offline rule applies to.
  const before: number[] = [];
  let beforeCpu = 0;
  for (let r = 0; r < rounds; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const list = await state.list();
    const inputs = list.filter((m) => index.offlineRulesFor(m.id).some((x) => ruleApplies(x, m)));
    before.push(ms(t0));
    const c = process.cpuUsage(cpu0);
    beforeCpu += (c.user + c.system) / 1000;
    if (inputs.length !== machines) throw new Error(`listed ${inputs.length}`);
  }

  // After: the deadlines, seeded once, then only the due machines are read.
  const watch = createOfflineWatch();
  watch.setRules((m) => index.offlineRulesFor(m.id).filter((x) => ruleApplies(x, m)));
  for (const m of await state.list()) watch.seen(m);
  const after: number[] = [];
  let afterCpu = 0;
  for (let r = 0; r < rounds; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const due = watch.due(now);
    const records = await Promise.all(due.map((id) => state.get(id)));
    after.push(ms(t0));
    const c = process.cpuUsage(cpu0);
    afterCpu += (c.user + c.system) / 1000;
    if (r === 0 && records.filter(Boolean).length !== silent) throw new Error(`due ${records.length}`);
    for (const m of records) if (m) watch.retry(m.id, now); // due again for the next round
  }

  // Per report: every hub keeps every machine's deadline.
  const reports = machines * 20;
  const seen = records(machines);
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < reports; k++) {
    const m = seen[k % machines];
    m.lastSeenMs += 1;
    watch.seen(m);
  }
  const perReportNs = (Number(process.hrtime.bigint() - t0) / reports).toFixed(0);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`machines ${machines}, silent ${silent}, rounds ${rounds}`);
  console.log(`before (list + filter): median ${median(before).toFixed(1)} ms wall, ${(beforeCpu / rounds).toFixed(1)} ms CPU per tick`);
  console.log(`after (due + get):      median ${median(after).toFixed(2)} ms wall, ${(afterCpu / rounds).toFixed(2)} ms CPU per tick`);
  console.log(`ratio (wall, median):   ${(median(before) / median(after)).toFixed(0)}×`);
  console.log(`keeping deadlines:      ${perReportNs} ns per report (${reports} reports)`);
} finally {
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  await redis.quit();
}

function records(n: number): Array<{ id: string; labels: Record<string, string>; lastSeenMs: number }> {
  return Array.from({ length: n }, (_, i) => ({ id: `bench-${i}`, labels: { rack: String(i % 40) }, lastSeenMs: now }));
}
