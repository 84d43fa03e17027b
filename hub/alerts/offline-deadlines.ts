// When each machine would go silent for an offline rule, ordered, so the offline tick touches only the
// machines whose moment came instead of listing the fleet. Pure: no clock, no I/O.
// - DeadlineQueue: a min-heap of (deadline, key) with one live deadline per key. set() is O(1) when a
//   deadline only moves later (every report does that): the heap entry stays where it is and, once it
//   comes up, is pushed again at the key's current deadline (lazy); a deadline moved earlier is pushed
//   at once (the old entry is skipped when it comes up). popDue() takes out every key whose deadline
//   passed: O(log n) each. Stale entries are compacted away when they outnumber the live ones.
// - offlineDeadline(): the first moment after `afterMs` at which one of a machine's offline rules is
//   breached by its silence (silentForSeconds > threshold, computed exactly as the rule evaluates it),
//   or undefined when no rule is left to breach.

export interface DeadlineQueue<K> {
  /** Sets (or moves) the key's deadline. */
  set(key: K, deadlineMs: number): void;
  delete(key: K): void;
  deadlineOf(key: K): number | undefined;
  /** Removes and returns every key whose deadline is at or before `nowMs`, earliest first. */
  popDue(nowMs: number): K[];
  readonly size: number;
  clear(): void;
}

interface Slot {
  deadline: number;
  /** The deadline of this key's live heap entry (undefined: none in the heap). */
  queued: number | undefined;
}

export function createDeadlineQueue<K>(): DeadlineQueue<K> {
  const slots = new Map<K, Slot>();
  // Parallel arrays: the heap's deadlines and keys.
  let times: number[] = [];
  let keys: K[] = [];

  const swap = (i: number, j: number) => {
    const t = times[i];
    times[i] = times[j];
    times[j] = t;
    const k = keys[i];
    keys[i] = keys[j];
    keys[j] = k;
  };
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= times[i]) break;
      swap(i, parent);
      i = parent;
    }
  };
  const down = (i: number) => {
    const n = times.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && times[l] < times[m]) m = l;
      if (r < n && times[r] < times[m]) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const push = (key: K, deadline: number) => {
    times.push(deadline);
    keys.push(key);
    up(times.length - 1);
  };
  const pop = (): void => {
    const lastT = times.pop()!;
    const lastK = keys.pop()!;
    if (times.length > 0) {
      times[0] = lastT;
      keys[0] = lastK;
      down(0);
    }
  };
  const compact = () => {
    const entries: Array<[number, K]> = [];
    for (const [key, slot] of slots) {
      slot.queued = slot.deadline;
      entries.push([slot.deadline, key]);
    }
    entries.sort((a, b) => a[0] - b[0]); // a sorted array is a heap
    times = entries.map((e) => e[0]);
    keys = entries.map((e) => e[1]);
  };

  return {
    set(key, deadlineMs) {
      const slot = slots.get(key);
      if (!slot) {
        slots.set(key, { deadline: deadlineMs, queued: deadlineMs });
        push(key, deadlineMs);
      } else {
        slot.deadline = deadlineMs;
        if (slot.queued === undefined || deadlineMs < slot.queued) {
          slot.queued = deadlineMs;
          push(key, deadlineMs);
        }
      }
      if (times.length > 64 && times.length > 2 * slots.size) compact();
    },
    delete(key) {
      slots.delete(key);
    },
    deadlineOf: (key) => slots.get(key)?.deadline,
    popDue(nowMs) {
      const due: K[] = [];
      while (times.length > 0 && times[0] <= nowMs) {
        const t = times[0];
        const key = keys[0];
        pop();
        const slot = slots.get(key);
        if (!slot || slot.queued !== t) continue; // deleted, or superseded by an earlier push
        if (slot.deadline <= t) {
          slots.delete(key);
          due.push(key);
        } else {
          slot.queued = slot.deadline; // moved later since: back in at its current deadline (maybe due too, in its turn)
          push(key, slot.deadline);
        }
      }
      return due;
    },
    get size() {
      return slots.size;
    },
    clear() {
      slots.clear();
      times = [];
      keys = [];
    },
  };
}

/** Pure: the value an offline rule reads (proto/status.ts silentForSeconds) breaches its threshold. */
function silentPast(lastSeenMs: number, atMs: number, thresholdS: number): boolean {
  return Math.max(0, (atMs - lastSeenMs) / 1000) > thresholdS;
}

/** The silence (whole ms) at which `thresholdS` is first exceeded; it depends on nothing else, so it is kept per threshold. */
const breachAfter = new Map<number, number>();
function breachAfterMs(thresholdS: number): number {
  let d = breachAfter.get(thresholdS);
  if (d === undefined) {
    d = Math.max(0, Math.floor(thresholdS * 1000));
    while (!silentPast(0, d, thresholdS)) d++;
    while (d > 1 && silentPast(0, d - 1, thresholdS)) d--;
    if (breachAfter.size > 10_000) breachAfter.clear();
    breachAfter.set(thresholdS, d);
  }
  return d;
}

/** The first whole millisecond at which a silence since `lastSeenMs` exceeds `thresholdS`. */
export function silentPastAt(lastSeenMs: number, thresholdS: number): number {
  return lastSeenMs + breachAfterMs(thresholdS);
}

/**
 * The earliest moment after `afterMs` at which one of `rules` (the offline rules that apply to the
 * machine) is breached by a silence since `lastSeenMs`; undefined when every one of them already is
 * (their alerts are pending or firing, which the tick follows through the active index) or there are none.
 */
export function offlineDeadline(lastSeenMs: number, rules: ReadonlyArray<{ threshold: number }>, afterMs: number): number | undefined {
  let best: number | undefined;
  for (const rule of rules) {
    const at = silentPastAt(lastSeenMs, rule.threshold);
    if (at > afterMs && (best === undefined || at < best)) best = at;
  }
  return best;
}

/** What the watch needs of a machine: its id and labels (rule scope) and when it last reported. */
export interface SeenMachine {
  id: string;
  labels: Record<string, string>;
  lastSeenMs: number;
}

export interface OfflineWatch {
  /** A report (or a record read from the state store): the machine's deadline moves to its new silence. */
  seen(machine: SeenMachine): void;
  forget(id: string): void;
  /** The offline rules changed: every deadline is computed again from what was seen (no I/O). */
  setRules(offlineRulesOf: (machine: SeenMachine) => ReadonlyArray<{ threshold: number }>): void;
  /** Removes and returns the machines whose next offline rule is breached by now. */
  due(nowMs: number): string[];
  /** After a tick evaluated the machine at `nowMs`: waits for the next of its rules not breached yet. */
  rearm(machine: SeenMachine, nowMs: number): void;
  /** Due again at `atMs` (a tick that failed). */
  retry(id: string, atMs: number): void;
  /** Machines seen. */
  readonly tracked: number;
  /** Machines with a deadline. */
  readonly waiting: number;
}

export function createOfflineWatch(): OfflineWatch {
  const machines = new Map<string, SeenMachine>();
  const queue = createDeadlineQueue<string>();
  let rulesOf: (machine: SeenMachine) => ReadonlyArray<{ threshold: number }> = () => [];

  /** Keeps the newest of what was seen (in place: a report allocates nothing here); returns it. */
  const remember = (m: SeenMachine): SeenMachine => {
    const known = machines.get(m.id);
    if (known) {
      if (known.lastSeenMs < m.lastSeenMs) {
        known.lastSeenMs = m.lastSeenMs;
        known.labels = m.labels;
      }
      return known;
    }
    const kept = { id: m.id, labels: m.labels, lastSeenMs: m.lastSeenMs };
    machines.set(m.id, kept);
    return kept;
  };
  const schedule = (m: SeenMachine, afterMs: number) => {
    const at = offlineDeadline(m.lastSeenMs, rulesOf(m), afterMs);
    if (at === undefined) queue.delete(m.id);
    else queue.set(m.id, at);
  };

  return {
    seen(m) {
      const known = machines.get(m.id);
      if (known && known.lastSeenMs >= m.lastSeenMs) return;
      schedule(remember(m), m.lastSeenMs);
    },
    forget(id) {
      machines.delete(id);
      queue.delete(id);
    },
    setRules(offlineRulesOf) {
      rulesOf = offlineRulesOf;
      queue.clear();
      for (const m of machines.values()) schedule(m, m.lastSeenMs);
    },
    due: (nowMs) => queue.popDue(nowMs),
    rearm(m, nowMs) {
      const kept = remember(m);
      schedule(kept, Math.max(nowMs, kept.lastSeenMs));
    },
    retry(id, atMs) {
      if (machines.has(id)) queue.set(id, Math.min(queue.deadlineOf(id) ?? atMs, atMs));
    },
    get tracked() {
      return machines.size;
    },
    get waiting() {
      return queue.size;
    },
  };
}
