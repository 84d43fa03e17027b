// The one compare-and-set loop over a machine's rule states (rule-state-store.ts), used by evaluation
// and by every action: load, decide, commit against the version loaded; when another hub (or another
// evaluation in this one) committed in between, load again and decide again. After `maxAttempts`
// lost races it throws a RuleStatesConflictError naming the machine — never gives up silently.
import type { RuleStatesWrite } from './machine-step.ts';
import type { MachineRuleStates, RuleStateStore } from './rule-state-store.ts';

export const MAX_COMMIT_ATTEMPTS = 12;

/** What a decision writes (none: nothing to write, done) and what the caller gets back. */
export interface CommitPlan<T> {
  write: RuleStatesWrite | undefined;
  result: T;
}

export class RuleStatesConflictError extends Error {
  readonly machine: string;
  readonly attempts: number;
  constructor(machine: string, attempts: number) {
    super(`the rule states of machine "${machine}" changed under each of ${attempts} compare-and-set attempts; gave up`);
    this.name = 'RuleStatesConflictError';
    this.machine = machine;
    this.attempts = attempts;
  }
}

export interface CommitOptions {
  maxAttempts?: number;
  /** The machine's states already loaded (the first attempt uses them instead of loading). */
  loaded?: MachineRuleStates;
  /** Called on every lost race. */
  onConflict?: () => void;
}

/** Decides on the current rule states and commits the decision; `committed` false: there was nothing to write. */
export async function commitRuleStates<T>(
  store: Pick<RuleStateStore, 'load' | 'commit'>,
  machine: string,
  decide: (current: MachineRuleStates) => CommitPlan<T> | Promise<CommitPlan<T>>,
  options: CommitOptions = {},
): Promise<{ result: T; committed: boolean }> {
  const maxAttempts = options.maxAttempts ?? MAX_COMMIT_ATTEMPTS;
  let current = options.loaded;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    current ??= (await store.load([machine])).get(machine) ?? { version: 0, rules: {} };
    const plan = await decide(current);
    if (!plan.write) return { result: plan.result, committed: false };
    const { rules, active, outbox } = plan.write;
    if (await store.commit(machine, current.version, rules, active, outbox)) return { result: plan.result, committed: true };
    options.onConflict?.();
    current = undefined;
  }
  throw new RuleStatesConflictError(machine, maxAttempts);
}
