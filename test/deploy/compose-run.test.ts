// docker-compose.yml run for real: a Docker engine of the test's own (test/support/docker-engine.ts),
// base images made here (debootstrap'ed Debian, Node from the npm package; test/support/docker-images.ts),
// the shipped file with test/deploy/compose.local-images.yml on top (plain PostgreSQL for the
// `timescaledb` service, Debian's Redis, health checks every second or two). It builds the images, starts
// the four services, waits for their health checks, finds the collector container's machine in
// /api/machines on the published port (127.0.0.1 only), kills the hub container (SIGKILL to its init, as a
// crash) and sees docker restart it and the collector replay what it sampled meanwhile: every seq once
// in the database, none missing. Then `docker-compose down -v` and the engine stops.
// When dockerd cannot run here the tests are skipped, with the reason in one line.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFailed, test } from 'vitest';
import { run, startDockerEngine, type DockerEngine } from '../support/docker-engine.ts';
import { DEBIAN_IMAGE, debianMirror, ensureDebianImage, ensureNodeImage, hostAddedCaCertificates, NODE_IMAGE, type ImageSource } from '../support/docker-images.ts';
import { ROOT } from '../support/hub-process.ts';
import { freePort, tempDir } from '../support/servers.ts';

/** A free port on 127.0.0.1 between 20000 and the start of the ephemeral range (ip_local_port_range). */
async function freePortBelowEphemeral(): Promise<number> {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * Math.max(1, low - 20000));
    if (await portFree(port)) return port;
  }
  return freePort();
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MINUTE = 60_000;

/** Polls until `probe` returns a value (not undefined/false); the last error or value is in the timeout message. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last).slice(0, 500)})`);
    await sleep(everyMs);
  }
}

const SERVICES = ['timescaledb', 'redis', 'hub', 'collector'] as const;
const project = `sysmonstm-test-${process.pid}-${randomBytes(3).toString('hex')}`;
const machineId = `compose-${randomBytes(3).toString('hex')}`;
const dir = tempDir('compose-run');
const timings: Record<string, number> = {};
const loadedAt = Date.now();
let engine: DockerEngine | undefined;
let skipReason = '';
let debianFrom: ImageSource | undefined;
let httpPort = 0;
let grpcPort = 0;
const postgresPassword = randomBytes(12).toString('hex');

/** The file behind `--env-file`: only what the compose files need (ports 0 until the up test picks them). */
function writeComposeEnv(): void {
  writeFileSync(
    path.join(dir.path, 'compose.env'),
    [
      `POSTGRES_PASSWORD=${postgresPassword}`,
      `HUB_HTTP_PUBLISH=127.0.0.1:${httpPort}`,
      `HUB_GRPC_PUBLISH=127.0.0.1:${grpcPort}`,
      // The collector shares the host's network: the hub is the gRPC port published on loopback.
      `AGGREGATOR_URL=http://127.0.0.1:${grpcPort}`,
      `MACHINE_ID=${machineId}`,
      `MACHINE_NAME=Compose test`,
      `TEST_DEBIAN_IMAGE=${DEBIAN_IMAGE}`,
      `TEST_NODE_IMAGE=${NODE_IMAGE}`,
    ].join('\n') + '\n',
  );
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - t0;
  }
}

function compose(args: readonly string[], timeoutMs = 5 * MINUTE): Promise<string> {
  const files = ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(ROOT, 'test/deploy/compose.local-images.yml')];
  // Only what the files need: nothing from this shell (LOG_LEVEL, a developer's .env) leaks in.
  return run('docker-compose', ['--project-name', project, '--env-file', path.join(dir.path, 'compose.env'), ...files, ...args], {
    cwd: ROOT,
    timeoutMs,
    env: { ...engine!.env, TEST_BUILD_CA_CERTS: hostAddedCaCertificates() },
  });
}

/** Container ids by service (a restarted container keeps its id). */
const ids = new Map<string, string>();
async function containerId(service: string): Promise<string> {
  if (!ids.has(service)) {
    const id = (await compose(['ps', '-q', service], MINUTE)).trim();
    if (!id) throw new Error(`no container for ${service}`);
    ids.set(service, id);
  }
  return ids.get(service)!;
}

async function inspect(id: string, format: string): Promise<string> {
  return (await engine!.docker(['inspect', '--format', format, id])).trim();
}

/** psql in the database container (the test talks to the database only through the container). */
async function sql(query: string): Promise<string[][]> {
  const db = await containerId('timescaledb');
  const out = await engine!.docker(['exec', db, 'psql', '-U', 'sysmonstm', '-d', 'sysmonstm', '-v', 'ON_ERROR_STOP=1', '-tA', '-F', '\t', '-c', query]);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
}

interface SeqAccount {
  rows: number;
  distinct: number;
  max: number;
  missing: number;
}

async function seqAccount(): Promise<SeqAccount> {
  const [[rows, distinct, max, missing]] = await sql(
    `WITH m AS (SELECT seq FROM metrics WHERE machine_id = '${machineId}')
     SELECT (SELECT count(*) FROM m), (SELECT count(DISTINCT seq) FROM m), (SELECT coalesce(max(seq), 0) FROM m),
            (SELECT count(*) FROM generate_series(1, (SELECT coalesce(max(seq), 0) FROM m)) s WHERE s NOT IN (SELECT seq FROM m))`,
  );
  return { rows: Number(rows), distinct: Number(distinct), max: Number(max), missing: Number(missing) };
}

async function api<T>(route: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${route}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

interface MachineSummary {
  id: string;
  status: string;
  lastSeq: number;
}

describe('docker compose, run for real', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    const start = await startDockerEngine();
    timings.engine = Date.now() - t0;
    if (!start.ok) {
      skipReason = `docker compose test skipped: ${start.reason}`;
      console.warn(skipReason);
      return;
    }
    engine = start.engine;
    // Leftovers of an interrupted run (this run holds the engine's lock, so no other run owns them).
    await timed('cleanup', async () => {
      const labels = (await engine!.docker(['ps', '-a', '--format', '{{.ID}} {{.Label "com.docker.compose.project"}}'])).trim().split('\n').filter(Boolean);
      const stale = labels.filter((l) => l.split(' ')[1]?.startsWith('sysmonstm-test-')).map((l) => l.split(' ')[0]);
      if (stale.length) await engine!.docker(['rm', '-f', '-v', ...stale]);
      await engine!.docker(['volume', 'prune', '-f', '--filter', 'label=com.docker.compose.project']).catch(() => '');
      await engine!.docker(['network', 'prune', '-f']).catch(() => '');
    });

    debianFrom = await timed('debian', () => ensureDebianImage(engine!));
    await timed('node', () => ensureNodeImage(engine!));
    writeComposeEnv();
  }, 30 * MINUTE);

  afterAll(async () => {
    try {
      if (engine) {
        await timed('down', () => compose(['down', '-v', '--remove-orphans'], 3 * MINUTE)).catch((err: Error) => console.error(`docker-compose down: ${err.message}`));
        // Untagged images of builds a week old and more: superseded images, and build stages (the layer
        // cache of the hub's dashboard build; younger ones are kept so that the next run is quick).
        await timed('prune', () => engine!.docker(['image', 'prune', '-f', '--filter', 'until=168h'], { timeoutMs: 3 * MINUTE })).catch(() => '');
      }
    } finally {
      if (engine) await timed('stop', () => engine!.stop());
      dir.remove();
      if (engine) {
        timings.total = Date.now() - loadedAt;
        const shown = Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`);
        console.log(`docker compose test (Debian image from ${debianFrom}; dockerd ${engine.started ? 'started and stopped' : `reused, pid ${engine.pid}`}): ${shown.join(', ')}`);
      }
    }
  }, 5 * MINUTE);

  /** Marks the test skipped (with the reason) when there is no engine; on failure, shows the services' logs. */
  const ready = (ctx: { skip: (note?: string) => void }) => {
    if (!engine) ctx.skip(skipReason);
    onTestFailed(async () => {
      const logs = await compose(['logs', '--no-color', '--tail', '40'], MINUTE).catch((err: Error) => err.message);
      console.error(`docker-compose logs (${project}):\n${logs}`);
      console.error(`dockerd log, last lines (${engine!.logFile}):\n${engine!.logTail(40)}`);
    });
  };

  test('builds the four images', async (ctx) => {
    ready(ctx);
    // The two stand-ins beside the hub; the collector after the hub, whose first layers it shares.
    await timed('build', () =>
      Promise.all([compose(['build', '--parallel', 'timescaledb', 'redis'], 20 * MINUTE), compose(['build', 'hub'], 20 * MINUTE).then(() => compose(['build', 'collector'], 20 * MINUTE))]),
    );
    for (const image of ['sysmonstm-hub:local', 'sysmonstm-collector:local', 'sysmonstm-test/postgres:15', 'sysmonstm-test/redis:7']) {
      expect(await engine!.docker(['image', 'inspect', '--format', '{{.Id}}', image])).toMatch(/^sha256:/);
    }
    // The hub image runs as the unprivileged user with pg_dump for backups.
    const check = await engine!.docker(['run', '--rm', '--entrypoint', 'sh', 'sysmonstm-hub:local', '-c', 'id -un; pg_dump --version; node --version']);
    expect(check).toMatch(new RegExp(`^node\\npg_dump \\(PostgreSQL\\) 15\\.\\d+.*\\nv${process.versions.node.replace(/\./g, '\\.')}\\n$`, 's'));
  }, 21 * MINUTE);

  test('up -d: every service passes its health check; ports are published on 127.0.0.1 only', async (ctx) => {
    ready(ctx);
    // Ports chosen now (not before the minutes of building) and below the kernel's ephemeral range, where
    // the other test files' servers (listen on port 0) and outgoing connections take theirs.
    [httpPort, grpcPort] = [await freePortBelowEphemeral(), await freePortBelowEphemeral()];
    writeComposeEnv();
    await timed('up', () => compose(['up', '-d', '--no-build'], 5 * MINUTE));
    await timed('healthy', () =>
      waitFor(
        'all four services healthy',
        async () => {
          const all = await Promise.all(SERVICES.map((s) => containerId(s)));
          const out = await engine!.docker(['inspect', '--format', '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}/restarts={{.RestartCount}}', ...all]);
          const states = out.trim().split('\n').map((state, i) => `${SERVICES[i]}=${state}`);
          // Healthy and never restarted: a service in a crash loop does not pass.
          return states.every((s) => s.endsWith('running/healthy/restarts=0')) ? states : (states.join(' ') as unknown as false);
        },
        3 * MINUTE,
        500,
      ),
    );
    const ports = JSON.parse(await inspect(await containerId('hub'), '{{json .NetworkSettings.Ports}}')) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
    expect(ports['8000/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(httpPort) }]);
    expect(ports['50051/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(grpcPort) }]);
    // Healthy is judged inside the container; from the host the request goes through docker-proxy on the
    // published port. A refused or reset first connection is retried (for 30 s) and counted in the log.
    let attempts = 0;
    const readyState = await waitFor(
      '/ready through the published port',
      async () => {
        attempts++;
        return (await api<{ status: string }>('/ready')).status;
      },
      30_000,
      500,
    );
    expect(readyState).toBe('ready');
    if (attempts > 1) console.warn(`/ready through the published port answered on attempt ${attempts}`);
  }, 9 * MINUTE);

  test("the collector container's machine is in /api/machines, reporting, its history in the database", async (ctx) => {
    ready(ctx);
    const machine = await waitFor(
      `${machineId} in /api/machines`,
      async () => (await api<MachineSummary[]>('/api/machines')).find((m) => m.id === machineId && m.lastSeq >= 3),
      MINUTE,
    );
    expect(machine.status).not.toBe('offline');
    const info = await api<{ history: string; state: string }>('/api/info');
    // The plain-PostgreSQL path (the stand-in has no TimescaleDB) and Redis, as the compose file wires them.
    expect(info).toMatchObject({ history: 'postgres', state: 'redis' });
    await waitFor('rows in the database', async () => (await seqAccount()).max >= 3, MINUTE, 500);
  }, 3 * MINUTE);

  test('the hub container killed: docker restarts it, the collector replays, no seq missing or doubled', async (ctx) => {
    ready(ctx);
    const hub = await containerId('hub');
    const restartsBefore = Number(await inspect(hub, '{{.RestartCount}}'));
    const before = await seqAccount();
    expect(before).toMatchObject({ missing: 0 });
    expect(before.rows).toBe(before.distinct);
    const pid = Number(await inspect(hub, '{{.State.Pid}}'));
    expect(pid).toBeGreaterThan(1);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL'); // the container's init (tini): the hub dies with it, as in a crash
    await waitFor('the hub to be down', () => api('/ready').then(() => false, () => true), 10_000, 50);
    const backAt = await timed('restart', () =>
      waitFor(
        'the hub back (/ready 200)',
        () => api<{ status: string }>('/ready').then((r) => r.status === 'ready' && Date.now()),
        2 * MINUTE,
        200,
      ),
    );
    expect(Number(await inspect(hub, '{{.RestartCount}}'))).toBe(restartsBefore + 1);
    // Reports sampled while the hub was down come in by replay; wait until history is a few past them.
    const downSeconds = Math.ceil((backAt - killedAt) / 1000);
    const after = await waitFor(
      `history past seq ${before.max + downSeconds + 3}`,
      async () => {
        const a = await seqAccount();
        return a.max >= before.max + downSeconds + 3 ? a : undefined;
      },
      2 * MINUTE,
      500,
    );
    expect(after.missing, `missing seqs after the restart: ${JSON.stringify(after)}`).toBe(0);
    expect(after.rows, 'a seq stored twice').toBe(after.distinct);
    // The outage was real: reports timed while the hub was away are stored (they can only have come by replay).
    const [[during]] = await sql(
      `SELECT count(*) FROM metrics WHERE machine_id = '${machineId}' AND time > to_timestamp(${killedAt / 1000}) AND time < to_timestamp(${backAt / 1000})`,
    );
    // At 1 s sampling an outage of 2.5 s or more has reports timed inside it (a faster restart may not).
    if (backAt - killedAt >= 2_500) expect(Number(during)).toBeGreaterThanOrEqual(1);
    const machine = await api<MachineSummary[]>('/api/machines').then((ms) => ms.find((m) => m.id === machineId)!);
    expect(machine.lastSeq).toBeGreaterThanOrEqual(after.max);
    console.log(`hub killed: back after ${backAt - killedAt} ms; seq ${before.max} → ${after.max}, ${during} reports timed during the outage, none missing`);
  }, 5 * MINUTE);
});

describe("the Debian mirror for debootstrap, from apt's configuration", () => {
  test('deb822 .sources and one-line sources.list entries; the first with the suite and main', () => {
    const deb822 = `Types: deb\n# snapshot\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n`;
    expect(debianMirror([{ name: 'debian.sources', text: deb822 }])).toBe('http://deb.debian.org/debian');
    const list = `# deb http://old.example/debian bookworm main\ndeb [arch=amd64] http://mirror.example/debian bookworm main contrib\n`;
    expect(debianMirror([{ name: 'sources.list', text: list }])).toBe('http://mirror.example/debian');
    // Not the suite, not main, disabled, or deb-src: skipped.
    const others = `Types: deb\nURIs: https://packages.example/apt\nSuites: nodistro\nComponents: main\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n\nEnabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n`;
    expect(debianMirror([{ name: 'other.sources', text: others }])).toBeUndefined();
    expect(debianMirror([{ name: 'other.sources', text: others }, { name: 'debian.sources', text: deb822 }])).toBe('http://deb.debian.org/debian');
    expect(debianMirror([{ name: 'sources.list', text: 'deb http://mirror.example/debian bookworm contrib\n' }])).toBeUndefined();
  });
});
