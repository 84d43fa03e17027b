// A load generator for the dashboard: serves the built web/dist and speaks the real live wire format
// (a FleetEncoder from proto/delta.ts) on /ws for N synthetic machines, every machine
// changing every push. It answers /api/info with {mode: 'edge'} and has no history API, like the public
// Worker, so it also exercises the read-only edge path. It is not a stand-in for the hub: the real hub
// is tested in test/e2e/full-chain.test.ts; this is what lets a test put 1,000 machines in front of
// the page.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { createFleetEncoder, diffMachine, type MachineView, type WireUpdate } from '../../proto/delta.ts';
import { machineStatus } from '../../proto/status.ts';

const DIST = path.resolve(import.meta.dirname, '../../web/dist');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json' };
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:";

export interface SyntheticFleetServer {
  readonly url: string;
  /** Frames sent to viewers so far. */
  readonly framesSent: number;
  /** Cuts every viewer's connection (as a relay restart would); new connections are accepted. */
  dropViewers(): void;
  close(): Promise<void>;
}

function machine(i: number, t: number, nowMs: number, firstName?: string): MachineView {
  const cpu = Math.round((50 + 45 * Math.sin(t / 7 + i)) * 10) / 10;
  const memory = Math.round((60 + 30 * Math.sin(t / 11 + i * 0.3)) * 10) / 10;
  const disk = 30 + (i % 65);
  const values = {
    cpu_percent: cpu,
    memory_percent: memory,
    disk_percent: disk,
    load_avg_1m: Math.round(cpu) / 25,
    network_recv_bytes_sec: Math.round(1e5 * (1 + Math.sin(t + i))),
    network_sent_bytes_sec: Math.round(3e4 * (1 + Math.cos(t + i))),
    disk_read_bytes_sec: 1000 * (i % 7),
    disk_write_bytes_sec: 5000 * (i % 3),
    uptime_seconds: 3600 + t,
    process_count: 100 + (i % 50),
  };
  const silent = i % 97 === 5; // a few machines stop reporting: offline
  const lastSeen = silent ? nowMs - 120_000 : nowMs;
  return {
    id: `m-${String(i).padStart(4, '0')}`,
    name: i === 0 && firstName !== undefined ? firstName : `node-${String(i).padStart(4, '0')}`,
    host: `node-${i}.dc${i % 3}.example`,
    status: machineStatus(values, lastSeen, 1000, nowMs),
    labels: { env: i % 4 === 0 ? 'prod' : 'staging', dc: `dc${i % 3}` },
    intervalMs: 1000,
    lastSeen,
    values,
  };
}

export async function startSyntheticFleetServer(opts: { machines: number; pushIntervalMs?: number; firstName?: string }): Promise<SyntheticFleetServer> {
  let tick = 0;
  const views = new Map<string, MachineView>();
  const refresh = () => {
    const now = Date.now();
    const updates: WireUpdate[] = [];
    for (let i = 0; i < opts.machines; i++) {
      const next = machine(i, tick, now, opts.firstName);
      const prev = views.get(next.id);
      if (prev && prev.lastSeen < now - 60_000 && next.lastSeen < now - 60_000) next.lastSeen = prev.lastSeen;
      const u = diffMachine(prev, next, now);
      views.set(next.id, next);
      if (u) updates.push(u);
    }
    tick++;
    return { updates, now };
  };
  refresh();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/info') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ mode: 'edge' }));
      return;
    }
    // Like the Worker: the relay's short recent ring (here: the current values only).
    const recent = /^\/api\/machines\/([^/]+)\/recent$/.exec(url.pathname);
    if (recent) {
      const view = views.get(decodeURIComponent(recent[1]));
      if (!view) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unknown machine' }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ t: view.lastSeen, metrics: view.values }]));
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not on the edge' }));
      return;
    }
    const file = url.pathname === '/' || url.pathname.startsWith('/machines/') ? 'index.html' : url.pathname.slice(1);
    if (file.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    try {
      const body = await readFile(path.join(DIST, file));
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    }
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  let framesSent = 0;
  const wire = createFleetEncoder(); // shared by every viewer, like the hub's /ws
  wss.on('connection', (ws) => {
    ws.send(wire.snapshot(views.values(), Date.now()));
    framesSent++;
  });
  const timer = setInterval(() => {
    const { updates, now } = refresh();
    const frame = wire.delta(updates, [], now);
    for (const ws of wss.clients) {
      ws.send(frame);
      framesSent++;
    }
  }, opts.pushIntervalMs ?? 1000);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get framesSent() {
      return framesSent;
    },
    dropViewers() {
      for (const ws of wss.clients) ws.terminate();
    },
    async close() {
      clearInterval(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
