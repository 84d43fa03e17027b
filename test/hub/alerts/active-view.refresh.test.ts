// The once-a-second refresh of active alerts reads the whole active index only when its version moved:
// the pure decision, and the version on real Redis (bumped by a commit that changes the index only).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ACTIVE_FULL_REFRESH_MS, activeReadDue } from '../../../hub/alerts/active-view.ts';
import type { ActiveAlert } from '../../../hub/alerts/rule-state-store.ts';
import { OK_STATE } from '../../../hub/alerts/evaluate.ts';
import { createRedisRuleState } from '../../../hub/alerts/redis-rule-state.ts';

const log = pino({ level: 'silent' });
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sysmonstm-test:${randomUUID()}:`;
const redis = new Redis(REDIS_URL);
const blocking: Redis[] = [];

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  for (const r of blocking) r.disconnect();
});

describe('activeReadDue', () => {
  it('reads when the version moved, was never seen, is unknown, or the last full read is old', () => {
    expect(activeReadDue(undefined, 3, 0, 1000)).toBe(true);
    expect(activeReadDue(3, 3, 1000, 2000)).toBe(false);
    expect(activeReadDue(3, 4, 1000, 2000)).toBe(true);
    expect(activeReadDue(3, undefined, 1000, 2000)).toBe(true);
    expect(activeReadDue(3, 3, 1000, 1000 + ACTIVE_FULL_REFRESH_MS)).toBe(true);
  });
});

describe('Redis active version', () => {
  it('moves with a commit that changes the active index, not with one that only writes rule states', async () => {
    const state = createRedisRuleState(redis, () => {
      const r = new Redis(REDIS_URL);
      blocking.push(r);
      return r;
    }, log, { prefix, claimIdleMs: 30_000 });
    const v0 = await state.activeVersion!();
    // Only the rule state (an ok state, no active change).
    expect(await state.commit('m-1', 0, { r1: { ...OK_STATE } }, [], [])).toBe(true);
    expect(await state.activeVersion!()).toBe(v0);
    const alert: ActiveAlert = { rule_id: 'r1', machine: 'm-1', state: 'firing', severity: 'critical', since: 1, value: 99, acknowledged: false, silenced_until: null };
    expect(await state.commit('m-1', 1, { r1: { ...OK_STATE, phase: 'firing', sinceMs: 1, value: 99 } }, [{ ruleId: 'r1', machine: 'm-1', alert }], [])).toBe(true);
    const v1 = await state.activeVersion!();
    expect(v1).toBeGreaterThan(v0);
    expect(await state.active()).toEqual([alert]);
    // A lost compare-and-set changes nothing.
    expect(await state.commit('m-1', 1, {}, [{ ruleId: 'r1', machine: 'm-1', alert: null }], [])).toBe(false);
    expect(await state.activeVersion!()).toBe(v1);
    expect(await state.commit('m-1', 2, {}, [{ ruleId: 'r1', machine: 'm-1', alert: null }], [])).toBe(true);
    expect(await state.activeVersion!()).toBeGreaterThan(v1);
    expect(await state.active()).toEqual([]);
    await state.close();
  });
});
