// The one compare-and-set loop: a lost race loads again and decides again, nothing to write commits
// nothing, and when every attempt is lost it throws an error naming the machine (never gives up
// silently). On a scripted store, and on the memory store with a real concurrent writer.
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { commitRuleStates, MAX_COMMIT_ATTEMPTS, RuleStatesConflictError } from '../../../hub/alerts/commit-rule-states.ts';
import { OK_STATE } from '../../../hub/alerts/evaluate.ts';
import { createMemoryRuleState } from '../../../hub/alerts/memory-rule-state.ts';
import type { MachineRuleStates, RuleStateStore } from '../../../hub/alerts/rule-state-store.ts';

/** A store whose commits fail `lose` times, then succeed; it counts loads and commits. */
function scripted(lose: number) {
  let version = 3;
  const calls = { loads: 0, commits: [] as number[] };
  const store: Pick<RuleStateStore, 'load' | 'commit'> = {
    async load(ids) {
      calls.loads++;
      return new Map(ids.map((id) => [id, { version, rules: {} }]));
    },
    async commit(_machine, expected) {
      calls.commits.push(expected);
      if (calls.commits.length <= lose) {
        version++; // someone else committed meanwhile
        return false;
      }
      return expected === version;
    },
  };
  return { store, calls };
}

const write = { rules: { r: { ...OK_STATE } }, active: [], outbox: [] };

describe('commitRuleStates', () => {
  test('a lost race loads again and decides again on the new version, then commits', async () => {
    const { store, calls } = scripted(2);
    const seen: number[] = [];
    let conflicts = 0;
    const out = await commitRuleStates(store, 'm1', (current) => {
      seen.push(current.version);
      return { write, result: current.version };
    }, { onConflict: () => conflicts++ });
    expect(out).toEqual({ committed: true, result: 5 });
    expect(seen).toEqual([3, 4, 5]);
    expect(calls.commits).toEqual([3, 4, 5]);
    expect(calls.loads).toBe(3);
    expect(conflicts).toBe(2);
  });

  test('states already loaded are used for the first attempt', async () => {
    const { store, calls } = scripted(0);
    const loaded: MachineRuleStates = { version: 3, rules: {} };
    expect(await commitRuleStates(store, 'm1', () => ({ write, result: 'ok' }), { loaded })).toEqual({ committed: true, result: 'ok' });
    expect(calls.loads).toBe(0);
  });

  test('nothing to write: no commit, the decision comes back', async () => {
    const { store, calls } = scripted(0);
    expect(await commitRuleStates(store, 'm1', () => ({ write: undefined, result: 7 }))).toEqual({ committed: false, result: 7 });
    expect(calls.commits).toEqual([]);
  });

  test('every attempt lost: a RuleStatesConflictError naming the machine, after exactly maxAttempts commits', async () => {
    const { store, calls } = scripted(Number.POSITIVE_INFINITY);
    const err = await commitRuleStates(store, 'web-07', () => ({ write, result: undefined })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleStatesConflictError);
    expect((err as RuleStatesConflictError).machine).toBe('web-07');
    expect((err as Error).message).toMatch(/web-07.*12 compare-and-set attempts/);
    expect(calls.commits).toHaveLength(MAX_COMMIT_ATTEMPTS);
    const fewer = scripted(Number.POSITIVE_INFINITY);
    await expect(commitRuleStates(fewer.store, 'm', () => ({ write, result: 1 }), { maxAttempts: 3 })).rejects.toThrow(/3 compare-and-set attempts/);
    expect(fewer.calls.commits).toHaveLength(3);
  });

  test('on the memory store: a writer that commits in between makes the loop decide again on its result', async () => {
    const state = createMemoryRuleState(pino({ level: 'silent' }));
    let interfered = false;
    const out = await commitRuleStates(state, 'm1', async (current) => {
      if (!interfered) {
        interfered = true;
        expect(await state.commit('m1', current.version, { other: { ...OK_STATE, value: 1 } }, [], [])).toBe(true);
      }
      return { write: { rules: { ...current.rules, mine: { ...OK_STATE, value: 2 } }, active: [], outbox: [] }, result: Object.keys(current.rules) };
    });
    expect(out).toEqual({ committed: true, result: ['other'] });
    const after = (await state.load(['m1'])).get('m1')!;
    expect(after.version).toBe(2);
    expect(Object.keys(after.rules).sort()).toEqual(['mine', 'other']);
    await state.close();
  });
});
