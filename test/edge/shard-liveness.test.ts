// RELAY_SHARDS=2 in workerd, a quiet fleet: the hub's pings end at the coordinator (answered by the
// runtime), so the coordinator tells the shards when the hub was last heard. Viewers on every shard
// keep seeing the hub as up while it only pings, and see it gone once its socket closes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { machine, relayStats, TestHub, TestViewer, waitFor } from './edge-clients.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const SILENT_MS = 1500;
let dev: WranglerDev;
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  dev = await startWranglerDev({ vars: { RELAY_SHARDS: '2', HUB_SILENT_AFTER_MS: String(SILENT_MS) } });
}, 120_000);
afterAll(async () => {
  for (const c of open) c.close();
  await dev?.stop();
});

it('keeps every shard told that a hub which only pings is there, and that it left', async () => {
  const hub = await TestHub.forView(dev.ingestUrl, dev.hubToken, 'default');
  open.push(hub);
  const ts = Date.now();
  hub.sendSnapshot([machine('q1', { cpu_percent: 1 }, { lastSeen: ts })], ts);
  await waitFor('both shards hold the snapshot', async () => (await relayStats(dev.url, dev.hubToken)).filter((s) => s.role === 'relay' && s.machines === 1).length === 2);
  const viewers: TestViewer[] = [];
  for (let i = 0; i < 4; i++) {
    const v = await TestViewer.open(dev.viewerUrl);
    open.push(v);
    viewers.push(v);
  }
  for (const v of viewers) await waitFor('snapshot and hub status', () => v.fleet.size === 1 && v.hub() !== undefined);
  const stats = await relayStats(dev.url, dev.hubToken);
  // Viewers go to the shards in turn: 2 and 2.
  expect(stats.filter((s) => s.role === 'relay').map((s) => s.viewers)).toEqual([2, 2]);

  // Only pings for four silence periods: no frame reaches the shards.
  const pinger = setInterval(() => hub.ws.send('ping'), 300);
  try {
    await new Promise((r) => setTimeout(r, 4 * SILENT_MS));
  } finally {
    clearInterval(pinger);
  }
  for (const v of viewers) {
    expect(v.hub()?.up).toBe(true);
    expect(v.extras.filter((f) => f.t === 'h').every((f) => f.t === 'h' && f.up)).toBe(true);
  }
  const after = await relayStats(dev.url, dev.hubToken);
  expect(after.filter((s) => s.role === 'relay').every((s) => s.framesAccepted === 2)).toBe(true); // config + snapshot only

  // Announced at once (the coordinator tells the shards when the socket closes), not after the silence.
  const closedAt = Date.now();
  await hub.close();
  for (const v of viewers) await waitFor('hub gone at every viewer', () => v.hub()?.up === false, SILENT_MS / 2);
  expect(Date.now() - closedAt).toBeLessThan(SILENT_MS / 2);
}, 60_000);
