// The FORGET_OFFLINE_AFTER decision: who is stale, oldest first, bounded per sweep, 0 = never.
import { describe, expect, test } from 'vitest';
import { staleMachines } from '../../../hub/fleet/machine-forgetter.ts';

describe('staleMachines', () => {
  const records = [
    { id: 'fresh', lastSeenMs: 9_500 },
    { id: 'old', lastSeenMs: 1_000 },
    { id: 'older', lastSeenMs: 500 },
    { id: 'edge', lastSeenMs: 5_000 },
  ];
  test('machines last seen longer ago than the limit, oldest first', () => {
    expect(staleMachines(records, 10_000, 5_000, 100)).toEqual(['older', 'old']);
  });
  test('at most `limit` per sweep', () => {
    expect(staleMachines(records, 10_000, 1, 2)).toEqual(['older', 'old']);
  });
  test('0 means never', () => {
    expect(staleMachines(records, 1e12, 0, 100)).toEqual([]);
  });
});
