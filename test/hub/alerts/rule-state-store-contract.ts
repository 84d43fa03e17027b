// The RuleStateStore contract (hub/alerts/rule-state-store.ts), one suite run against every
// implementation (rule-state-store.test.ts): compare-and-set on a version, with the active-index
// changes and the outbox written in the same step or not at all; the outbox handed to one handler and
// retried when it throws; the rules version; leases.
import { describe, expect, test } from 'vitest';
import { OK_STATE, type RuleState } from '../../../hub/alerts/evaluate.ts';
import type { ActiveAlert, OutboxEntry, RuleStateStore } from '../../../hub/alerts/rule-state-store.ts';
import { waitFor } from '../../support/servers.ts';

export interface RuleStateStoreHarness {
  /** A fresh, empty store (its own key space). */
  make(): Promise<RuleStateStore>;
  kind: RuleStateStore['kind'];
  /** Whether it has activeVersion() (the memory store does not need one: active() is a local read). */
  activeVersion: boolean;
}

const firing = (value: number): RuleState => ({ ...OK_STATE, phase: 'firing', sinceMs: 1000, value, lastSampleMs: 1000, notifiedFiring: true, lastNotifiedMs: 1000 });
const alert = (rule: string, machine: string, value: number): ActiveAlert => ({ rule_id: rule, machine, state: 'firing', severity: 'critical', since: 1000, value, acknowledged: false, silenced_until: null });
let ids = 0;
const entry = (machine: string, state: string): OutboxEntry => ({
  id: `e-${++ids}-${Math.random().toString(36).slice(2)}`,
  at: 1000 + ids,
  ruleId: 'r1',
  ruleName: 'R1',
  metric: 'cpu_percent',
  condition: 'cpu_percent > 90',
  machine,
  severity: 'critical',
  state,
  notice: state === 'firing' ? 'firing' : undefined,
  value: 95,
  since: 1000,
  detail: null,
});

const byKey = (list: readonly ActiveAlert[]) => [...list].sort((a, b) => `${a.rule_id} ${a.machine}`.localeCompare(`${b.rule_id} ${b.machine}`));

export function describeRuleStateStoreContract(name: string, harness: RuleStateStoreHarness): void {
  describe(`RuleStateStore contract: ${name}`, () => {
    const withStore = (fn: (s: RuleStateStore) => Promise<void>) => async () => {
      const s = await harness.make();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    };

    test('says what it is', withStore(async (s) => {
      expect(s.kind).toBe(harness.kind);
    }));

    test('an unknown machine loads as version 0 without states; several load at once', withStore(async (s) => {
      const loaded = await s.load(['a', 'b']);
      expect([...loaded.keys()]).toEqual(['a', 'b']);
      expect(loaded.get('a')).toEqual({ version: 0, rules: {} });
      expect((await s.load([])).size).toBe(0);
    }));

    test('compare-and-set: a commit on the loaded version wins and moves it; one on an old version changes nothing', withStore(async (s) => {
      expect(await s.commit('m1', 0, { r1: firing(91) }, [{ ruleId: 'r1', machine: 'm1', alert: alert('r1', 'm1', 91) }], [])).toBe(true);
      expect((await s.load(['m1'])).get('m1')).toEqual({ version: 1, rules: { r1: firing(91) } });
      // A second writer that loaded version 0 too loses, and none of its changes land.
      expect(await s.commit('m1', 0, { r1: firing(99), r2: firing(1) }, [{ ruleId: 'r2', machine: 'm1', alert: alert('r2', 'm1', 1) }], [entry('m1', 'firing')])).toBe(false);
      expect((await s.load(['m1'])).get('m1')).toEqual({ version: 1, rules: { r1: firing(91) } });
      expect(await s.active()).toEqual([alert('r1', 'm1', 91)]);
      expect(await s.commit('m1', 1, {}, [], [])).toBe(true);
      expect((await s.load(['m1'])).get('m1')).toEqual({ version: 2, rules: {} });
      // Machines are independent.
      expect(await s.commit('m2', 0, { r1: firing(5) }, [], [])).toBe(true);
      expect((await s.load(['m1', 'm2'])).get('m2')!.version).toBe(1);
    }));

    test('a load of more machines than one script call takes (600) returns each its own states, in order', withStore(async (s) => {
      const ids = Array.from({ length: 600 }, (_, i) => `many-${i}`);
      for (const i of [0, 249, 250, 251, 599]) expect(await s.commit(ids[i], 0, { r1: firing(i) }, [], [])).toBe(true);
      const loaded = await s.load(ids);
      expect([...loaded.keys()]).toEqual(ids);
      ids.forEach((id, i) => {
        const want = [0, 249, 250, 251, 599].includes(i) ? { version: 1, rules: { r1: firing(i) } } : { version: 0, rules: {} };
        expect(loaded.get(id), id).toEqual(want);
      });
    }));

    test('what load returns is a copy', withStore(async (s) => {
      const rules = { r1: firing(50) };
      await s.commit('m1', 0, rules, [], []);
      rules.r1.value = 1;
      const loaded = (await s.load(['m1'])).get('m1')!;
      loaded.rules.r1.value = 2;
      expect((await s.load(['m1'])).get('m1')!.rules.r1.value).toBe(50);
    }));

    test('the active index: changes add, replace and remove entries', withStore(async (s) => {
      await s.commit('m1', 0, {}, [
        { ruleId: 'r1', machine: 'm1', alert: alert('r1', 'm1', 1) },
        { ruleId: 'r2', machine: 'm1', alert: alert('r2', 'm1', 2) },
      ], []);
      await s.commit('m2', 0, {}, [{ ruleId: 'r1', machine: 'm2', alert: alert('r1', 'm2', 3) }], []);
      expect(byKey(await s.active())).toEqual([alert('r1', 'm1', 1), alert('r1', 'm2', 3), alert('r2', 'm1', 2)]);
      await s.commit('m1', 1, {}, [
        { ruleId: 'r1', machine: 'm1', alert: { ...alert('r1', 'm1', 7), acknowledged: true } },
        { ruleId: 'r2', machine: 'm1', alert: null },
      ], []);
      expect(byKey(await s.active())).toEqual([{ ...alert('r1', 'm1', 7), acknowledged: true }, alert('r1', 'm2', 3)]);
    }));

    test('the active version, where there is one, moves with every change of the index and only then', withStore(async (s) => {
      expect(typeof s.activeVersion === 'function').toBe(harness.activeVersion);
      if (!s.activeVersion) return;
      const v0 = await s.activeVersion();
      await s.commit('m1', 0, { r1: firing(1) }, [], []);
      expect(await s.activeVersion()).toBe(v0);
      await s.commit('m1', 1, { r1: firing(1) }, [{ ruleId: 'r1', machine: 'm1', alert: alert('r1', 'm1', 1) }], []);
      const v1 = await s.activeVersion();
      expect(v1).not.toBe(v0);
      await s.commit('m1', 0, {}, [{ ruleId: 'r1', machine: 'm1', alert: null }], []); // lost
      expect(await s.activeVersion()).toBe(v1);
    }));

    test('the outbox reaches the handler in commit order, only for commits that won', withStore(async (s) => {
      const got: OutboxEntry[] = [];
      s.consumeOutbox(async (entries) => void got.push(...entries));
      const first = [entry('m1', 'pending'), entry('m1', 'firing')];
      const lost = entry('m1', 'resolved');
      const second = entry('m2', 'firing');
      expect(await s.commit('m1', 0, {}, [], first)).toBe(true);
      expect(await s.commit('m1', 0, {}, [], [lost])).toBe(false);
      expect(await s.commit('m2', 0, {}, [], [second])).toBe(true);
      await waitFor('three entries', () => got.length >= 3, 10_000, 20);
      await new Promise((r) => setTimeout(r, 200));
      expect(got).toEqual([...first, second]);
    }));

    test('a handler that throws gets the same entries again later, and each once after it succeeds', withStore(async (s) => {
      const calls: string[][] = [];
      let fail = 2;
      s.consumeOutbox(async (entries) => {
        calls.push(entries.map((e) => e.id));
        if (fail-- > 0) throw new Error('database down');
      });
      const e = entry('m1', 'firing');
      await s.commit('m1', 0, {}, [], [e]);
      await waitFor('handled after two failures', () => calls.length >= 3, 15_000, 20);
      await new Promise((r) => setTimeout(r, 700));
      expect(calls).toEqual([[e.id], [e.id], [e.id]]);
    }), 30_000);

    test('the rules version counts bumps', withStore(async (s) => {
      const v = await s.rulesVersion();
      await s.bumpRulesVersion();
      await s.bumpRulesVersion();
      expect(await s.rulesVersion()).toBe(v + 2);
    }));

    test('a lease is held by one caller until it expires', withStore(async (s) => {
      const name = `tick:${Math.random()}`;
      expect(await s.tryLease(name, 150)).toBe(true);
      expect(await s.tryLease(name, 150)).toBe(false);
      expect(await s.tryLease(`${name}:other`, 150)).toBe(true);
      await new Promise((r) => setTimeout(r, 250));
      expect(await s.tryLease(name, 150)).toBe(true);
    }));
  });
}
