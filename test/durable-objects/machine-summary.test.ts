// GET /v/<slug>/api/machines in the hub's shape (durable-objects/machine-summary.ts).
import { describe, expect, it } from 'vitest';
import { toEdgeMachineSummary } from '../../durable-objects/machine-summary.ts';
import type { MachineSummaryJson } from '../../hub/fleet/fleet-query.ts';
import { machine } from '../edge/edge-clients.ts';

describe('edge machine summaries', () => {
  it("answers /api/machines in the hub shape, with only the view's metrics the hub sent", () => {
    const summary: Omit<MachineSummaryJson, 'metrics'> = toEdgeMachineSummary(machine('a', { cpu_percent: 3 }));
    const { metrics } = toEdgeMachineSummary(machine('a', { cpu_percent: 3 }));
    expect(summary.id).toBe('a');
    expect(metrics).toEqual({ cpu_percent: 3 });
    expect('memory_used_bytes' in metrics).toBe(false);
  });
});
