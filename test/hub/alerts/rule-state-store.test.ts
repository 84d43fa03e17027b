// The RuleStateStore contract on every implementation: memory, memory kept in a file, and real Redis
// (127.0.0.1:6379, a key prefix of its own per store, deleted afterwards).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { createMemoryRuleState } from '../../../hub/alerts/memory-rule-state.ts';
import { createRedisRuleState } from '../../../hub/alerts/redis-rule-state.ts';
import { REDIS_URL, tempDir } from '../../support/servers.ts';
import { describeRuleStateStoreContract } from './rule-state-store-contract.ts';

const log = pino({ level: 'silent' });
const root = `sysmonstm-test:${randomUUID()}:`;
const redis = new Redis(REDIS_URL);
const dir = tempDir('rule-state');
let n = 0;

afterAll(async () => {
  const keys = await redis.keys(`${root}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  dir.remove();
});

describeRuleStateStoreContract('memory', { kind: 'memory', activeVersion: false, make: async () => createMemoryRuleState(log) });

describeRuleStateStoreContract('memory with a file', {
  kind: 'memory',
  activeVersion: false,
  make: async () => createMemoryRuleState(log, { file: path.join(dir.path, `state-${++n}.json`), saveDelayMs: 10 }),
});

describeRuleStateStoreContract('Redis', {
  kind: 'redis',
  activeVersion: true,
  make: async () => createRedisRuleState(redis, () => new Redis(REDIS_URL), log, { prefix: `${root}${++n}:`, claimIdleMs: 300 }),
});
