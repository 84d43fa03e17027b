// The active view: a machine's colour is its worst firing alert of a known rule while rules exist (the
// thresholds otherwise), listeners hear of exactly the machines whose colour changed, and a refresh
// reads the index only when its version moved. (activeReadDue itself: active-view.refresh.test.ts.)
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { ACTIVE_FULL_REFRESH_MS, createActiveView, worstByMachine } from '../../../hub/alerts/active-view.ts';
import type { ActiveAlert } from '../../../hub/alerts/rule-state-store.ts';

const a = (rule: string, machine: string, state: 'pending' | 'firing', severity: 'warning' | 'critical'): ActiveAlert => ({ rule_id: rule, machine, state, severity, since: 1, value: 1, acknowledged: false, silenced_until: null });
const record = (id: string) => ({ id, metrics: { cpu_percent: 99 } as never, lastSeenMs: 1000, intervalMs: 1000 });

describe('worstByMachine', () => {
  test('the worst firing alert of a known rule per machine; pending and unknown rules do not count', () => {
    const list = [a('w', 'm1', 'firing', 'warning'), a('c', 'm1', 'firing', 'critical'), a('c', 'm2', 'pending', 'critical'), a('x', 'm3', 'firing', 'critical'), a('w', 'm4', 'firing', 'warning')];
    expect(worstByMachine(list, (id) => id !== 'x')).toEqual(new Map([['m1', 'critical'], ['m4', 'warning']]));
  });
});

describe('createActiveView', () => {
  test('colours, listeners and a refresh that reads only when the version moved', async () => {
    let active: ActiveAlert[] = [a('c', 'm1', 'firing', 'critical')];
    let version = 1;
    let reads = 0;
    let clock = 10_000;
    const rules = new Map<string, unknown>();
    const view = createActiveView({
      state: {
        active: async () => {
          reads++;
          return active;
        },
        activeVersion: async () => version,
      },
      log: pino({ level: 'silent' }),
      now: () => clock,
      knownRules: () => rules,
    });
    const heard: Array<string | null> = [];
    view.onStatusChange((m) => heard.push(m));
    // No rules: the thresholds (cpu 99 % is critical), whatever the index says.
    expect(view.statusOf(record('m2'), 1500)).toBe('critical');
    rules.set('c', {}).set('w', {});
    await view.refresh();
    expect(reads).toBe(1);
    expect(heard).toEqual(['m1']);
    expect(view.statusOf(record('m1'), 1500)).toBe('critical');
    expect(view.statusOf(record('m2'), 1500)).toBe('healthy');
    expect(view.statusOf(record('m1'), 1000 + 60_000)).toBe('offline');
    // Same version: no read.
    await view.refresh();
    expect(reads).toBe(1);
    active = [a('w', 'm1', 'firing', 'warning'), a('w', 'm2', 'firing', 'warning')];
    version = 2;
    await view.refresh();
    expect(reads).toBe(2);
    expect(heard).toEqual(['m1', 'm1', 'm2']);
    expect(view.current()).toEqual(active);
    // Unchanged colours: nobody is told.
    version = 3;
    await view.refresh();
    expect(heard).toHaveLength(3);
    // A full read at least every ACTIVE_FULL_REFRESH_MS, even at the same version.
    clock += ACTIVE_FULL_REFRESH_MS;
    await view.refresh();
    expect(reads).toBe(4);
  });

  test('fresh() answers alerts of known rules only, and a silence that is over as none', async () => {
    const view = createActiveView({
      state: { active: async () => [{ ...a('c', 'm1', 'firing', 'critical'), silenced_until: 5000 }, { ...a('c', 'm2', 'firing', 'critical'), silenced_until: 20_000 }, a('gone', 'm1', 'firing', 'critical')] },
      log: pino({ level: 'silent' }),
      now: () => 10_000,
      knownRules: () => new Map([['c', {}]]),
    });
    expect((await view.fresh()).map((x) => [x.machine, x.silenced_until])).toEqual([
      ['m1', null],
      ['m2', 20_000],
    ]);
  });
});
