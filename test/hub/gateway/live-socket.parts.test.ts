// The hub's own /ws never hands a viewer a frame above its limit: a large snapshot goes in parts that
// the dashboard's assembler (proto/view-frames.ts createSnapshotAssembler) puts back together, and a
// large change set goes as several complete deltas. Real HTTP server on 127.0.0.1, real `ws` client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { applyDelta, createFleetReader, decodeFleetMessage, type MachineView } from '../../../proto/delta.ts';
import { createSnapshotAssembler } from '../../../proto/view-frames.ts';
import type { FleetView } from '../../../hub/fleet/fleet-view.ts';
import { attachLiveSocket } from '../../../hub/gateway/live-socket.ts';
import { machine, waitFor } from '../../edge/edge-clients.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function memoryFleet(): FleetView & { set(m: MachineView): void } {
  const views = new Map<string, MachineView>();
  const listeners = new Set<(m: MachineView) => void>();
  return {
    current: () => views.values(),
    get: (id) => views.get(id),
    records: () => [],
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {},
    set(m) {
      views.set(m.id, m);
      for (const l of listeners) l(m);
    },
  };
}

it('sends a large snapshot in parts and large deltas split, each within the frame limit', async () => {
  const maxFrameBytes = 64 * 1024;
  const fleet = memoryFleet();
  const labels = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`key-${i}`, 'v'.repeat(100)]));
  for (let i = 0; i < 500; i++) fleet.set(machine(`machine-${i}`, { cpu_percent: 1 }, { labels }));
  const server = http.createServer();
  const live = attachLiveSocket(server, { fleet, pushIntervalMs: 50, log: pino({ level: 'silent' }), maxFrameBytes });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)), () => live.close());

  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`);
  cleanups.push(() => ws.terminate());
  const frames: string[] = [];
  const mirror = new Map<string, MachineView>();
  const reader = createFleetReader();
  const parts = createSnapshotAssembler();
  ws.on('message', (d) => {
    const text = d.toString();
    frames.push(text);
    if (text.startsWith('{"t":"s"')) {
      const whole = parts.add(text);
      if (!whole) return;
      const frame = reader.read(whole);
      if (frame.t === 's') for (const m of frame.machines) mirror.set(m.id, m);
      return;
    }
    const frame = reader.read(decodeFleetMessage(text));
    if (frame.t === 'd') applyDelta(mirror, frame.updates, frame.removed, frame.ts);
  });
  await waitFor('the whole snapshot', () => mirror.size === 500);
  const snapshotParts = frames.filter((f) => f.startsWith('{"t":"s"'));
  expect(snapshotParts.length).toBeGreaterThan(5);
  expect(snapshotParts.every((f) => Buffer.byteLength(f) <= maxFrameBytes)).toBe(true);

  const relabelled = Object.fromEntries(Object.keys(labels).map((k) => [k, 'w'.repeat(100)]));
  for (let i = 0; i < 500; i++) fleet.set(machine(`machine-${i}`, { cpu_percent: 2 }, { labels: relabelled, lastSeen: 5 }));
  await waitFor('every change', () => [...mirror.values()].every((m) => m.values.cpu_percent === 2 && m.labels['key-0'] === relabelled['key-0']));
  const deltas = frames.filter((f) => f.startsWith('{"t":"d"'));
  expect(deltas.length).toBeGreaterThan(1);
  expect(deltas.every((f) => Buffer.byteLength(f) <= maxFrameBytes)).toBe(true);
});
