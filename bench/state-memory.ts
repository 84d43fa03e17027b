// Worst-case current state per machine at the default limits: `--machines` machines (default 200)
// whose every name and label is as long as validation allows (32 labels of 256 + 256 characters,
// non-Latin-1 text), whose reports are near the 1 MiB message limit (1,000 containers), each with a
// full recent ring (300 points). Printed: heap bytes per machine for the memory state (node
// --expose-gc, measured after a full GC), and Redis bytes per machine (MEMORY USAGE of its keys)
// for the Redis state. Both go through the same trim the ingest path uses (state/bound-report.ts).
// Run: node --expose-gc bench/state-memory.ts [--machines 200]
import { randomBytes } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Redis } from 'ioredis';
import { boundReportForState } from '../hub/state/bound-report.ts';
import { createMemoryState } from '../hub/state/memory-state.ts';
import { createRedisState } from '../hub/state/redis-state.ts';
import { RECENT_RING_SIZE, type MachineRecord } from '../hub/state/state-store.ts';
import { ContainerSchema } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { summarize } from '../proto/metrics.ts';
import { syntheticReport } from '../test/support/synthetic-collector.ts';
import { REDIS_URL } from '../test/support/servers.ts';

const i = process.argv.indexOf('--machines');
const machines = i > 0 ? Number(process.argv[i + 1]) : 200;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const wide = (seed: string, n: number) => (seed + 'ж'.repeat(n)).slice(0, n); // 2 bytes per character in V8

function worstMachine(m: number) {
  const id = `worst-${m}`.padEnd(128, 'x');
  const labels = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [wide(`k${k}-${m}-`, 256), wide(`v${k}-${m}-`, 256)]));
  const report = syntheticReport(id, 1, Date.now());
  report.hostname = wide(`h${m}`, 256);
  report.displayName = wide(`d${m}`, 256);
  report.labels = labels;
  report.containers = Array.from({ length: 1000 }, (_, k) => create(ContainerSchema, { id: `${k}`.padStart(64, '0'), name: wide(`c${k}`, 256), state: 'running', cpuPercent: 1, memoryBytes: 1e6, memoryPercent: 1 }));
  const record: MachineRecord = { id, hostname: report.hostname, displayName: report.displayName, labels, lastSeenMs: Date.now(), sampledAtMs: Date.now(), lastSeq: 1, intervalMs: 1000, metrics: summarize(report) };
  return { record, bytes: boundReportForState(report).bytes };
}

const built = Array.from({ length: machines }, (_, m) => worstMachine(m));
const state = createMemoryState();
gc();
const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
for (const { record, bytes } of built) {
  for (let p = 0; p < RECENT_RING_SIZE; p++) await state.put({ ...record, labels: { ...record.labels }, sampledAtMs: record.sampledAtMs + p * 1000 }, bytes.slice());
}
gc();
const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
const perMachineMemory = (after - before) / machines;

const redis = new Redis(REDIS_URL);
const prefix = `sysmonstm-bench:${randomBytes(4).toString('hex')}:`;
const redisState = createRedisState(redis, { prefix });
for (const { record, bytes } of built) for (let p = 0; p < RECENT_RING_SIZE; p++) await redisState.put({ ...record, sampledAtMs: record.sampledAtMs + p * 1000 }, bytes);
let redisBytes = 0;
const keys = await redis.keys(`${prefix}*`);
for (const key of keys) if (!key.endsWith('machines')) redisBytes += Number(await redis.memory('USAGE', key));
await redis.del(...keys);
redis.disconnect();
const perMachineRedis = redisBytes / machines;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  `${machines} worst-case machines (latest report ≤ ${built[0].bytes.length} B after the trim, ${RECENT_RING_SIZE} recent points): ` +
    `memory state ${(perMachineMemory / 1024).toFixed(1)} KiB per machine (${mib(perMachineMemory * 10_000)} at MAX_MACHINES 10,000); ` +
    `Redis ${(perMachineRedis / 1024).toFixed(1)} KiB per machine (${mib(perMachineRedis * 10_000)} at 10,000)`,
);
