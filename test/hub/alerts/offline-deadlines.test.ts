// The offline deadlines, pure: the queue pops exactly the keys whose deadline passed, in order, however
// deadlines moved (checked against a plain scan over random operations); a deadline is the first
// millisecond at which the offline rule's own value breaches its threshold; the watch follows reports
// and rules and re-arms a machine for its next rule.
import { describe, expect, test } from 'vitest';
import { createDeadlineQueue, createOfflineWatch, offlineDeadline, silentPastAt } from '../../../hub/alerts/offline-deadlines.ts';
import { silentForSeconds } from '../../../proto/status.ts';

describe('DeadlineQueue', () => {
  test('pops due keys earliest first and keeps the others', () => {
    const q = createDeadlineQueue<string>();
    q.set('c', 30);
    q.set('a', 10);
    q.set('b', 20);
    expect(q.popDue(5)).toEqual([]);
    expect(q.popDue(20)).toEqual(['a', 'b']);
    expect(q.size).toBe(1);
    expect(q.popDue(100)).toEqual(['c']);
    expect(q.popDue(100)).toEqual([]);
  });

  test('a deadline moved later is not due at the old time; one moved earlier is; a deleted key never is', () => {
    const q = createDeadlineQueue<string>();
    q.set('later', 10);
    q.set('earlier', 50);
    q.set('gone', 5);
    q.set('later', 40);
    q.set('earlier', 8);
    q.delete('gone');
    expect(q.popDue(20)).toEqual(['earlier']);
    expect(q.deadlineOf('later')).toBe(40);
    expect(q.popDue(39)).toEqual([]);
    expect(q.popDue(40)).toEqual(['later']);
    expect(q.size).toBe(0);
  });

  test('random operations: popDue always equals a scan of the live deadlines', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const q = createDeadlineQueue<number>();
    const truth = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = rand(10);
      const key = rand(300);
      if (op < 6) {
        const d = now + rand(1000) - 100;
        q.set(key, d);
        truth.set(key, d);
      } else if (op < 7) {
        q.delete(key);
        truth.delete(key);
      } else {
        now += rand(50);
        const expected = [...truth].filter(([, d]) => d <= now).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
        const got = q.popDue(now);
        expect(got.slice().sort((a, b) => a - b)).toEqual(expected.map(([k]) => k).sort((a, b) => a - b));
        // Earliest first.
        const times = got.map((k) => expected.find(([e]) => e === k)![1]);
        expect(times).toEqual([...times].sort((a, b) => a - b));
        for (const [k] of expected) truth.delete(k);
      }
      expect(q.size).toBe(truth.size);
    }
  });

  test('many deadlines moved earlier do not grow the heap without bound', () => {
    const q = createDeadlineQueue<string>();
    for (let i = 0; i < 10_000; i++) q.set('k', 1_000_000 - i);
    expect(q.popDue(1_000_000 - 10_000)).toEqual([]);
    expect(q.popDue(1_000_000 - 9_999)).toEqual(['k']);
  });
});

describe('offline deadlines', () => {
  test('silentPastAt is the first millisecond at which the rule value (silentForSeconds) exceeds the threshold', () => {
    for (const lastSeen of [0, 1, 999, 1_700_000_000_123]) {
      for (const threshold of [1, 2, 2.5, 10, 0.3, 7.123, 86_400]) {
        const at = silentPastAt(lastSeen, threshold);
        expect(silentForSeconds(lastSeen, at) > threshold, `${lastSeen} ${threshold}`).toBe(true);
        expect(silentForSeconds(lastSeen, at - 1) > threshold, `${lastSeen} ${threshold}`).toBe(false);
      }
    }
  });

  test('the earliest rule still ahead; none when every rule is already breached', () => {
    const rules = [{ threshold: 60 }, { threshold: 10 }, { threshold: 30 }];
    expect(offlineDeadline(1000, rules, 1000)).toBe(silentPastAt(1000, 10));
    expect(offlineDeadline(1000, rules, silentPastAt(1000, 10))).toBe(silentPastAt(1000, 30));
    expect(offlineDeadline(1000, rules, 1000 + 61_000)).toBeUndefined();
    expect(offlineDeadline(1000, [], 0)).toBeUndefined();
  });
});

describe('OfflineWatch', () => {
  const rulesOf = (m: { labels: Record<string, string> }) => (m.labels.watch === 'no' ? [] : [{ threshold: 10 }, { threshold: 60 }]);

  test('a report moves the deadline; an older one does not; a forgotten machine is never due', () => {
    const w = createOfflineWatch();
    w.setRules(rulesOf);
    w.seen({ id: 'a', labels: {}, lastSeenMs: 0 });
    w.seen({ id: 'b', labels: {}, lastSeenMs: 0 });
    w.seen({ id: 'c', labels: {}, lastSeenMs: 0 });
    w.seen({ id: 'a', labels: {}, lastSeenMs: 5000 });
    w.seen({ id: 'a', labels: {}, lastSeenMs: 1000 }); // late, older
    w.forget('c');
    expect(w.due(10_000)).toEqual([]);
    expect(w.due(10_001)).toEqual(['b']);
    expect(w.due(15_000)).toEqual([]);
    expect(w.due(15_001)).toEqual(['a']);
    expect(w.tracked).toBe(2);
  });

  test('machines no offline rule watches wait for nothing; new rules reach every machine seen, at once if overdue', () => {
    const w = createOfflineWatch();
    w.seen({ id: 'a', labels: {}, lastSeenMs: 0 });
    w.seen({ id: 'n', labels: { watch: 'no' }, lastSeenMs: 0 });
    expect(w.waiting).toBe(0);
    w.setRules(rulesOf);
    expect(w.waiting).toBe(1);
    expect(w.due(100_000)).toEqual(['a']);
  });

  test('rearm waits for the next rule not breached yet, or for nothing; retry makes it due again', () => {
    const w = createOfflineWatch();
    w.setRules(rulesOf);
    w.seen({ id: 'a', labels: {}, lastSeenMs: 0 });
    expect(w.due(10_001)).toEqual(['a']);
    w.rearm({ id: 'a', labels: {}, lastSeenMs: 0 }, 10_001);
    expect(w.due(60_000)).toEqual([]);
    expect(w.due(60_001)).toEqual(['a']);
    w.rearm({ id: 'a', labels: {}, lastSeenMs: 0 }, 60_001);
    expect(w.waiting).toBe(0);
    w.retry('a', 70_000);
    expect(w.due(70_000)).toEqual(['a']);
    // A record newer than what was seen (a report this hub missed) counts from its own time.
    w.rearm({ id: 'a', labels: {}, lastSeenMs: 65_000 }, 70_000);
    expect(w.due(75_000)).toEqual([]);
    expect(w.due(75_001)).toEqual(['a']);
  });
});
