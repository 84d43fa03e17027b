// The coalescer behind the hub's /ws and the edge forwarder: receivers that join at different times end
// up with exactly the hub's fleet, whatever changed in between (including a value that changed and
// changed back before the next push).
import { describe, expect, it } from 'vitest';
import { createDeltaCoalescer } from '../../../hub/fleet/delta-coalescer.ts';
import type { MachineView } from '../../../proto/delta.ts';
import { FleetMirror, machine } from '../../edge/edge-clients.ts';

describe('delta coalescer', () => {
  it('keeps early and late receivers identical to the source', () => {
    const source = new Map<string, MachineView>();
    const set = (m: MachineView) => {
      source.set(m.id, m);
      coalescer.mark(m.id);
    };
    const coalescer = createDeltaCoalescer();
    const early = new FleetMirror();
    set(machine('a', { cpu_percent: 1 }, { lastSeen: 1, status: 'healthy' }));
    set(machine('b', { cpu_percent: 2 }, { lastSeen: 1 }));
    early.apply(coalescer.snapshot(source.values(), 1));

    // Between pushes: "a" turns critical, a late receiver joins, then "a" is healthy again.
    set(machine('a', { cpu_percent: 99 }, { lastSeen: 2, status: 'critical' }));
    set(machine('c', { cpu_percent: 3 }, { lastSeen: 2 }));
    const late = new FleetMirror();
    const catchUp = coalescer.catchUp(source.values(), 2);
    if (catchUp) early.apply(catchUp);
    late.apply(coalescer.current(2));
    expect(late).toEqual(early);
    set(machine('a', { cpu_percent: 1 }, { lastSeen: 3, status: 'healthy' }));
    source.delete('b');
    coalescer.mark('b');

    const delta = coalescer.flush((id) => source.get(id), 3)!;
    for (const r of [early, late]) {
      r.apply(delta);
      expect(new Map(r)).toEqual(source);
    }
    expect(coalescer.flush((id) => source.get(id), 4)).toBeNull(); // nothing new: nothing sent
  });

  it('starts over for a reconnected single receiver without announcing what its snapshot said', () => {
    const coalescer = createDeltaCoalescer();
    const first = JSON.parse(coalescer.snapshot([machine('a', {}, { lastSeen: 1 })], 1));
    expect(first.m[0].k).toBe(0);
    coalescer.mark('a');
    const delta = JSON.parse(coalescer.flush(() => machine('a', { cpu_percent: 5 }, { lastSeen: 2 }), 2)!);
    expect(delta.a).toBeUndefined();
    expect(delta.u).toEqual([[0, 0, 0, 5]]);
  });
});
