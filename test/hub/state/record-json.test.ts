import { describe, expect, it } from 'vitest';
import type { ReportEvent } from '../../../hub/events/event-bus.ts';
import { eventJson, recordJson } from '../../../hub/state/record-json.ts';
import type { MachineRecord } from '../../../hub/state/state-store.ts';

const record = (): MachineRecord => ({
  id: 'm-1',
  hostname: 'm-1.lan "quoted" \u2028',
  displayName: 'M 1',
  labels: { env: 'prod', 'a"b': 'c\\d' },
  lastSeenMs: 1_700_000_000_123,
  sampledAtMs: 1_700_000_000_100,
  lastSeq: 42,
  intervalMs: 1000,
  metrics: { cpu_percent: 12.5, memory_percent: null } as unknown as MachineRecord['metrics'],
  problems: { containers: 1 } as unknown as MachineRecord['problems'],
});

describe('record and event JSON', () => {
  it('is exactly what JSON.stringify makes, with and without forgotten', () => {
    const r = record();
    expect(recordJson(r)).toBe(JSON.stringify(r));
    const events: ReportEvent[] = [
      { record: r, receivedAtMs: 1_700_000_000_200 },
      { record: r, receivedAtMs: 5, forgotten: true },
      { record: record(), receivedAtMs: 0.5 },
    ];
    for (const e of events) {
      expect(eventJson(e)).toBe(JSON.stringify(e));
      expect(JSON.parse(eventJson(e))).toEqual(JSON.parse(JSON.stringify(e)));
    }
  });

  it('serialises a record object once', () => {
    const r = record();
    const first = recordJson(r);
    expect(recordJson(r)).toBe(first);
    expect(eventJson({ record: r, receivedAtMs: 1 })).toContain(first);
  });
});
