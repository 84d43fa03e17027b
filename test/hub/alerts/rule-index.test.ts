import { describe, expect, it } from 'vitest';
import { indexRules } from '../../../hub/alerts/rule-index.ts';
import type { AlertRule } from '../../../hub/alerts/alert-rule.ts';

const rule = (id: string, machines?: string[]): AlertRule => ({ id, scope: machines ? { machines } : {} }) as AlertRule;

describe('indexRules', () => {
  const rules = [rule('all-1'), rule('web', ['web-01', 'web-02']), rule('all-2'), rule('db', ['db-01']), rule('web-again', ['web-02'])];
  const index = indexRules(rules);

  it('a machine gets the unscoped rules plus the rules that list it, in the rules’ order', () => {
    expect(index.rulesFor('web-02').map((r) => r.id)).toEqual(['all-1', 'web', 'all-2', 'web-again']);
    expect(index.rulesFor('db-01').map((r) => r.id)).toEqual(['all-1', 'all-2', 'db']);
    expect(index.rulesFor('other').map((r) => r.id)).toEqual(['all-1', 'all-2']);
  });

  it('500 rules, half scoped to 1,000 other machines: a machine outside every scope sees only the 250 others', () => {
    const others = Array.from({ length: 1000 }, (_, i) => `other-${i}`);
    const many = Array.from({ length: 500 }, (_, i) => rule(`r${i}`, i % 2 ? others : undefined));
    const big = indexRules(many);
    expect(big.rulesFor('bench-0')).toHaveLength(250);
    expect(big.rulesFor('other-7')).toHaveLength(500);
    expect(big.rulesFor('other-7')).toEqual(many);
  });
});
