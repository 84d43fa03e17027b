// Rules indexed by machine scope: a report is evaluated against the rules without a machine list plus
// the rules that list its machine, so 500 rules scoped to other machines cost nothing per report.
// Pure; the per-machine lists are built once per machine and rule set.
import type { AlertRule } from './alert-rule.ts';

export interface RuleIndex {
  /** The rules that can apply to a machine (its labels may still rule some out), in the rules' own order. */
  rulesFor(machineId: string): readonly AlertRule[];
  /** rulesFor() narrowed to the offline rules. */
  offlineRulesFor(machineId: string): readonly AlertRule[];
  /** Whether any rule watches for silence. */
  readonly hasOffline: boolean;
}

/**
 * The rules that can apply to a machine: those without a machine list, and those whose list names it,
 * in the rules' own order.
 */
export function indexRules(list: readonly AlertRule[]): RuleIndex {
  const unscoped: AlertRule[] = [];
  const byMachine = new Map<string, number[]>();
  list.forEach((rule, position) => {
    if (!rule.scope.machines) {
      unscoped.push(rule);
      return;
    }
    for (const m of rule.scope.machines) {
      const positions = byMachine.get(m);
      if (positions) positions.push(position);
      else byMachine.set(m, [position]);
    }
  });
  const unscopedPositions = list.flatMap((r, i) => (r.scope.machines ? [] : [i]));
  const perMachine = new Map<string, readonly AlertRule[]>();
  const unscopedOffline = unscoped.filter((r) => r.metric === 'offline');
  const offlinePerMachine = new Map<string, readonly AlertRule[]>();
  const rulesFor = (machineId: string): readonly AlertRule[] => {
    const scoped = byMachine.get(machineId);
    if (!scoped) return unscoped;
    let rules = perMachine.get(machineId);
    if (!rules) {
      rules = [...new Set([...unscopedPositions, ...scoped])].sort((a, b) => a - b).map((i) => list[i]);
      perMachine.set(machineId, rules);
    }
    return rules;
  };
  return {
    rulesFor,
    offlineRulesFor(machineId) {
      if (!byMachine.has(machineId)) return unscopedOffline;
      let rules = offlinePerMachine.get(machineId);
      if (!rules) {
        rules = rulesFor(machineId).filter((r) => r.metric === 'offline');
        offlinePerMachine.set(machineId, rules);
      }
      return rules;
    },
    hasOffline: list.some((r) => r.metric === 'offline'),
  };
}
