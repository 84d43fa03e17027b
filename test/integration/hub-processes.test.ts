// HUB_PROCESSES=2 through the real CLI (`sysmonstm hub`), with a private Redis and a fresh database
// on the local PostgreSQL: two hub processes share the gRPC and HTTP ports; two real collectors whose
// streams land on different processes (told apart by the pid in the "collector connected" log line)
// are both in /api/machines and on /ws of each process (every process's viewers get every machine's
// updates, through Redis); with DASHBOARD_TOKEN a session signed in on one process is valid on the
// other and a sign-out on that one ends it on the first; a process killed with SIGKILL is restarted
// by the primary, its collector reconnects and its history holds every seq once; the edge forwarder
// (EDGE_URL, a fake relay here that answers heartbeats) runs in one process at a time, and in the
// other once its holder is killed; a machine's interval set on one process reaches its collector on the
// other at once; SIGTERM to the primary closes them all, also when it comes while the processes are
// still starting (before they listen for the primary's stop request).
// Also: the configurations HUB_PROCESSES > 1 cannot run refused at start with exit code 2.
import http from 'node:http';
import pg from 'pg';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FleetMirror } from '../edge/edge-clients.ts';
import { runCli, type CliProcess } from '../support/hub-process.ts';
import { writeEverythingViewFile } from '../support/public-views.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-servers.ts';
import { createTestDatabase, freePort, processAlive, tempDir, waitFor } from '../support/servers.ts';

let redis: PrivateRedis;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let hub: CliProcess | undefined;
const collectors = new Map<string, CliProcess>();
const sockets: WebSocket[] = [];
const agents: http.Agent[] = [];
const hubDir = tempDir('hub-processes');
let httpPort = 0;
let grpcPort = 0;
/** The fake relay: sockets the hub holds open now, and the most it ever held at once. */
let relay: WebSocketServer;
const relaySockets = new Set<WebSocket>();
let relayMaxOpen = 0;
let relayConnects = 0;
const DASHBOARD_TOKEN = 'dashboard-token-for-hub-processes';
const bearer = { authorization: `Bearer ${DASHBOARD_TOKEN}` };

interface LogLine {
  pid?: number;
  process?: number;
  msg?: string;
  machine?: string;
}
function logLines(): LogLine[] {
  const out: LogLine[] = [];
  for (const line of (hub?.output() ?? '').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      /* a partial line */
    }
  }
  return out;
}
const listeningPids = () => [...new Set(logLines().filter((l) => l.msg === 'hub listening').map((l) => l.pid!))];
/** The pid of the process the machine's latest stream went to. */
const streamPid = (machine: string) => logLines().filter((l) => l.msg === 'collector connected' && l.machine === machine).at(-1)?.pid;

function startCollector(machine: string): void {
  const dir = tempDir(`hub-processes-${machine}`);
  collectors.set(
    machine,
    runCli(['collector'], {
      AGGREGATOR_URL: `http://127.0.0.1:${grpcPort}`,
      MACHINE_ID: machine,
      COLLECTION_INTERVAL: '0.2',
      DATA_DIR: dir.path,
      COLLECTOR_TOKEN: '',
      LABELS: '',
      LOG_LEVEL: 'warn',
    }),
  );
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
/** A request on a given keep-alive agent (one socket: always the same hub process). */
function request(agent: http.Agent, method: string, pathname: string, headers: Record<string, string> = bearer, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: httpPort, path: pathname, method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${pathname} timed out`)));
    req.end(body);
  });
}
async function get<T>(agent: http.Agent, pathname: string): Promise<T> {
  const res = await request(agent, 'GET', pathname);
  if (res.status !== 200) throw new Error(`GET ${pathname}: ${res.status} ${res.body.slice(0, 200)}`);
  return ((res.headers['content-type'] ?? '').includes('json') ? JSON.parse(res.body) : res.body) as T;
}

async function history(machine: string): Promise<{ n: number; d: number; lo: number; hi: number }> {
  const { rows } = await pool.query<{ n: string; d: string; lo: string | null; hi: string | null }>(
    'SELECT count(*) n, count(DISTINCT seq) d, min(seq) lo, max(seq) hi FROM metrics WHERE machine_id = $1',
    [machine],
  );
  return { n: Number(rows[0].n), d: Number(rows[0].d), lo: Number(rows[0].lo ?? 0), hi: Number(rows[0].hi ?? 0) };
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  [httpPort, grpcPort] = [await freePort(), await freePort()];
  relay = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  relay.on('connection', (ws) => {
    relayConnects++;
    relaySockets.add(ws);
    relayMaxOpen = Math.max(relayMaxOpen, relaySockets.size);
    ws.on('message', (data) => {
      if (data.toString() === 'ping') ws.send('pong');
    });
    ws.on('close', () => relaySockets.delete(ws));
  });
  await new Promise((resolve) => relay.once('listening', resolve));
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  for (const a of agents) a.destroy();
  await Promise.all([...collectors.values()].map((c) => c.stop('SIGTERM')));
  const pids = listeningPids();
  await hub?.stop('SIGTERM', 20_000);
  await new Promise((resolve) => relay?.close(resolve));
  for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  await pool?.end();
  await db?.drop();
  await redis?.remove();
  hubDir.remove();
}, 60_000);

describe('HUB_PROCESSES=2', () => {
  test('two processes on one pair of ports: every machine everywhere, shared sessions, one edge forwarder, a killed process restarted with nothing lost, one SIGTERM closes all', async () => {
    hub = runCli(['hub'], {
      HUB_PROCESSES: '2',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      GRPC_HOST: '127.0.0.1',
      DATA_DIR: hubDir.path,
      REDIS_URL: redis.url,
      TIMESCALE_URL: db.url,
      HISTORY_FLUSH_INTERVAL: '0.05',
      LIVE_PUSH_INTERVAL: '0.1',
      COLLECTOR_TOKEN: '',
      DASHBOARD_TOKEN,
      ADMIN_TOKEN: '',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      EDGE_URL: `ws://127.0.0.1:${(relay.address() as { port: number }).port}/ingest`,
      EDGE_API_KEY: 'edge-key-for-hub-processes',
      PUBLIC_VIEWS_FILE: writeEverythingViewFile(hubDir.path),
      EDGE_PUSH_INTERVAL: '0.2',
    });
    const failWith = () => `--- hub ---\n${hub?.output().slice(-4000)}`;
    await waitFor('two hub processes listening', () => listeningPids().length === 2, 90_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${failWith()}`);
    });
    const [pidA, pidB] = listeningPids();
    expect(pidA).not.toBe(hub.child.pid);
    expect(pidB).not.toBe(hub.child.pid);

    // Collectors until two streams sit on different processes (connections are handed out in turn).
    const byPid = new Map<number, string>();
    for (let i = 0; i < 6 && byPid.size < 2; i++) {
      const machine = `hp-${i}`;
      startCollector(machine);
      await waitFor(`${machine} connected`, () => streamPid(machine) !== undefined, 30_000, 100).catch((err: Error) => {
        throw new Error(`${err.message}\n${failWith()}\n--- collector ---\n${collectors.get(machine)?.output()}`);
      });
      const pid = streamPid(machine)!;
      if (!byPid.has(pid)) byPid.set(pid, machine);
    }
    expect(byPid.size).toBe(2);
    const machines = [...byPid.values()];

    // One keep-alive connection per process: /api/info says which one answers.
    const agentOf = new Map<number, http.Agent>();
    for (let i = 0; i < 8 && agentOf.size < 2; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const info = await get<{ process: { pid: number; slot: number; of: number } }>(agent, '/api/info');
      expect(info.process.of).toBe(2);
      if (!agentOf.has(info.process.pid)) agentOf.set(info.process.pid, agent);
    }
    expect([...agentOf.keys()].sort()).toEqual([pidA, pidB].sort());
    for (const [pid, agent] of agentOf) {
      await waitFor(`both machines in /api/machines of process ${pid}`, async () => {
        const list = await get<Array<{ id: string }>>(agent, '/api/machines');
        return machines.every((m) => list.some((r) => r.id === m));
      }, 15_000);
    }

    // Viewers on both processes: each one's mirror gets both machines, and keeps getting them.
    const mirrors: FleetMirror[] = [];
    for (let i = 0; i < 4; i++) {
      const mirror = new FleetMirror();
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`, { headers: bearer });
      ws.on('message', (d) => mirror.apply(d.toString()));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      sockets.push(ws);
      mirrors.push(mirror);
    }
    for (const [pid, agent] of agentOf) {
      const metricsText = await get<string>(agent, '/metrics');
      expect(Number(/^sysmonstm_hub_viewers (\d+)/m.exec(metricsText)?.[1]), `viewers on process ${pid}`).toBeGreaterThanOrEqual(1);
    }
    for (const mirror of mirrors) {
      await waitFor('both machines on the socket', () => machines.every((m) => mirror.get(m) !== undefined), 15_000);
    }
    const seen = mirrors.map((mirror) => machines.map((m) => mirror.get(m)!.lastSeen));
    await waitFor('updates of both machines on every socket', () => mirrors.every((mirror, i) => machines.every((m, j) => mirror.get(m)!.lastSeen > seen[i]![j]!)), 10_000);

    // One forwarder for the fleet (one view: one socket), whichever process holds the lease.
    await waitFor('the edge forwarder connected', () => relaySockets.size === 1, 15_000, 50);
    await new Promise((r) => setTimeout(r, 1500));
    expect(relaySockets.size).toBe(1);
    const leaseHolder = () => logLines().filter((l) => l.msg === 'lease acquired').at(-1)?.pid;
    expect([pidA, pidB]).toContain(leaseHolder());

    // A dashboard session signed in on one process is valid on the other; signed out there, it ends on both.
    const [[, agentA], [, agentB]] = [...agentOf.entries()];
    const login = await request(agentA!, 'POST', '/login', { 'content-type': 'application/x-www-form-urlencoded' }, `token=${DASHBOARD_TOKEN}`);
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^sysmonstm_session=.+/);
    expect((await request(agentA!, 'GET', '/api/machines', { cookie })).status).toBe(200);
    expect((await request(agentB!, 'GET', '/api/machines', { cookie })).status).toBe(200);
    expect((await request(agentB!, 'GET', '/api/machines', {})).status).toBe(401);
    expect((await request(agentB!, 'POST', '/logout', { cookie })).status).toBe(303);
    expect((await request(agentB!, 'GET', '/api/machines', { cookie })).status).toBe(401);
    await waitFor('the sign-out on the other process', async () => (await request(agentA!, 'GET', '/api/machines', { cookie })).status === 401, 5000, 20);

    // The owner sets a machine's interval on the process that does not hold its stream: pushed at once.
    const streamHolder = [...byPid.entries()].find(([, m]) => m === machines[1])![0];
    const elsewhere = [...agentOf.entries()].find(([pid]) => pid !== streamHolder)![1];
    const setInterval = (intervalMs: number) => request(elsewhere, 'PUT', `/api/machines/${machines[1]}/settings`, { ...bearer, 'content-type': 'application/json' }, JSON.stringify({ intervalMs }));
    const listedInterval = async () => (await get<Array<{ id: string; intervalMs: number }>>(elsewhere, '/api/machines')).find((m) => m.id === machines[1])?.intervalMs;
    expect((await setInterval(400)).status).toBe(200);
    await waitFor('the interval pushed to the collector on the other process', async () => (await listedInterval()) === 400, 10_000);
    expect((await setInterval(0)).status).toBe(200);
    await waitFor('the collector’s own interval again', async () => (await listedInterval()) === 200, 10_000);

    // Kill the process holding the second machine's stream: the primary starts another, the collector reconnects.
    const victim = [...byPid.entries()].find(([, m]) => m === machines[1])![0];
    const otherMachine = machines[0]!;
    const victimMachine = machines[1]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('a new hub process', () => listeningPids().filter((p) => p !== pidA && p !== pidB).length === 1, 60_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${failWith()}`);
    });
    expect(logLines().some((l) => l.msg === 'hub process exited; restarting it' && l.pid === hub!.child.pid)).toBe(true);
    const before = await history(victimMachine);
    await waitFor(`${victimMachine} reconnected and storing again`, async () => (await history(victimMachine)).hi > before.hi + 10, 60_000, 200);
    const atStop = new Map<string, number>();
    for (const machine of machines) atStop.set(machine, (await history(machine)).hi);
    expect(atStop.get(otherMachine)).toBeGreaterThan(0);

    // The lease holder killed (if the kill above did not already take it): the other process takes the forwarder over.
    const holder = leaseHolder()!;
    if (processAlive(holder)) {
      const connectsBefore = relayConnects;
      process.kill(holder, 'SIGKILL');
      await waitFor('the forwarder in another process', () => relayConnects > connectsBefore && relaySockets.size === 1, 30_000, 50);
    } else await waitFor('the forwarder in another process', () => relaySockets.size === 1, 30_000, 50);
    expect(leaseHolder()).not.toBe(holder);
    expect(relayMaxOpen).toBe(1);

    // Stop the collectors (they flush what they hold), then check every seq is stored once.
    for (const machine of machines) await collectors.get(machine)!.stop('SIGTERM');
    for (const machine of machines) {
      await new Promise((r) => setTimeout(r, 500));
      const h = await history(machine);
      expect(h, machine).toEqual({ n: h.hi, d: h.hi, lo: 1, hi: h.hi });
      expect(h.hi).toBeGreaterThanOrEqual(atStop.get(machine)!);
    }

    // One SIGTERM to the primary: every process closes in order, the primary exits 0.
    await waitFor('two processes again', () => listeningPids().filter(processAlive).length === 2, 60_000, 200);
    const pids = listeningPids().filter(processAlive);
    expect(pids.length).toBe(2);
    expect(await hub.stop('SIGTERM', 30_000)).toBe(0);
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    expect(logLines().filter((l) => l.msg === 'hub stopped').length).toBeGreaterThanOrEqual(2);
  }, 240_000);

  test('SIGTERM while the processes are still starting: they start, close in order, and the primary exits 0 well before their kill', async () => {
    const dir = tempDir('hub-processes-early-stop');
    const early = runCli(['hub'], {
      HUB_PROCESSES: '2',
      HTTP_PORT: String(await freePort()),
      GRPC_PORT: String(await freePort()),
      GRPC_HOST: '127.0.0.1',
      DATA_DIR: dir.path,
      REDIS_URL: redis.url,
      TIMESCALE_URL: db.url,
      COLLECTOR_TOKEN: '',
      DASHBOARD_TOKEN,
      ADMIN_TOKEN: '',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    });
    try {
      await waitFor('the primary forking', () => early.output().includes('starting hub processes'), 30_000, 5);
      const asked = Date.now();
      expect(await early.stop('SIGTERM', 28_000)).toBe(0);
      expect(Date.now() - asked).toBeLessThan(20_000); // the primary kills what is left after 30 s
    } finally {
      await early.stop('SIGKILL');
      dir.remove();
    }
  }, 60_000);

  test.each([
    [{ REDIS_URL: '', TIMESCALE_URL: 'postgres://127.0.0.1:1/x' }, 'needs REDIS_URL'],
    [{ REDIS_URL: 'redis://127.0.0.1:1', TIMESCALE_URL: '' }, 'needs TIMESCALE_URL'],
    [{ HUB_PROCESSES: 'many' }, 'HUB_PROCESSES: must be auto'],
    [{ HUB_PROCESSES: '65' }, 'HUB_PROCESSES: must be auto'],
  ])('refused at start: %o', async (env, message) => {
    const cli = runCli(['hub'], { HUB_PROCESSES: '2', REDIS_URL: 'redis://127.0.0.1:1', TIMESCALE_URL: 'postgres://127.0.0.1:1/x', DATA_DIR: hubDir.path, HTTP_PORT: '0', GRPC_PORT: '0', ...env });
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain(message);
  }, 30_000);
});
