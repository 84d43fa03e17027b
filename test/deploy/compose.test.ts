// docker-compose.yml, .env.example and the Dockerfiles, checked against the code (compose-run.test.ts
// beside this file runs them on a Docker engine). The variable lists come from the hub's and the
// collector's config schemas, and the interpolated environments are parsed by the real config parsers:
// a variable added to a schema and not to these files fails here.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, test } from 'vitest';
import { COLLECTOR_ENV_VARIABLES, parseCollectorConfig } from '../../collector/config.ts';
import { HUB_ENV_VARIABLES, parseHubConfig } from '../../hub/config.ts';
import { importClosure, interpolate, mentionedInDotEnv, parseDockerfile, parseDotEnv, referencedVariables, type DockerStage } from '../support/deploy-files.ts';
import { ROOT } from '../support/hub-process.ts';

const composeText = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parseYaml(composeText) as { services: Record<string, any>; volumes: Record<string, unknown> };
const envExampleText = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const envExample = parseDotEnv(envExampleText);
/** Variables that only docker compose reads (not the hub or the collector). */
const COMPOSE_ONLY = ['COMPOSE_PROJECT_NAME', 'POSTGRES_PASSWORD', 'HUB_HTTP_PUBLISH', 'HUB_GRPC_PUBLISH'];
const hubDefaults = parseHubConfig([], {});

/** A service's environment after interpolation with `env` (what the container would get). */
function serviceEnv(service: string, env: Record<string, string>): Record<string, string> {
  const raw = compose.services[service].environment as Record<string, string | number>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, interpolate(String(v ?? ''), env)]));
}

function publishedPorts(service: string, env: Record<string, string>): Array<{ host: string; container: number }> {
  return (compose.services[service].ports as string[]).map((p) => {
    const text = interpolate(p, env);
    const i = text.lastIndexOf(':');
    return { host: text.slice(0, i), container: Number(text.slice(i + 1)) };
  });
}

/** Named volume or bind mount targets of a service, with how they are mounted. */
function mounts(service: string): Array<{ type: string; source: string; target: string; readOnly: boolean; propagation?: string }> {
  return (compose.services[service].volumes ?? []).map((v: string | Record<string, any>) => {
    if (typeof v === 'string') {
      const [source, target, mode = ''] = v.split(':');
      return { type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume', source, target, readOnly: mode.split(',').includes('ro') };
    }
    return { type: v.type, source: v.source, target: v.target, readOnly: v.read_only === true, propagation: v.bind?.propagation };
  });
}

const minimalEnv = { POSTGRES_PASSWORD: 'pw0123456789' };

describe('docker-compose.yml', () => {
  test('docker-compose 1.29 reads it too: no top-level `name` (the project name comes from .env)', () => {
    expect(Object.keys(compose).filter((k) => !k.startsWith('x-')).sort()).toEqual(['services', 'volumes']);
    expect(envExample.COMPOSE_PROJECT_NAME).toBe('sysmonstm');
  });

  test('has the four services, images pinned to a major version', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'hub', 'redis', 'timescaledb']);
    expect(compose.services.timescaledb.image).toMatch(/^timescale\/timescaledb:\d+\.\d+\.\d+-pg16$/);
    expect(compose.services.redis.image).toBe('redis:7-alpine');
    for (const own of ['hub', 'collector']) {
      expect(compose.services[own].build.dockerfile).toBe(`deploy/docker/${own}.Dockerfile`);
      expect(existsSync(path.join(ROOT, compose.services[own].build.context, compose.services[own].build.dockerfile))).toBe(true);
    }
  });

  test('every service restarts, has resource limits and a health check (compose or image)', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.restart, `${name} restart`).toMatch(/^(unless-stopped|always)$/);
      expect(s.deploy?.resources?.limits?.cpus, `${name} cpu limit`).toMatch(/^\d+(\.\d+)?$/);
      expect(s.deploy?.resources?.limits?.memory, `${name} memory limit`).toMatch(/^\d+[mg]$/);
      const imageHealthcheck = s.build ? parseDockerfile(readFileSync(path.join(ROOT, s.build.dockerfile), 'utf8')).at(-1)!.instructions.some((i) => i.keyword === 'HEALTHCHECK') : false;
      expect(Boolean(s.healthcheck?.test) || imageHealthcheck, `${name} health check`).toBe(true);
    }
  });

  test('data lives in named volumes, all declared', () => {
    const declared = Object.keys(compose.volumes);
    const expectVolume = (service: string, target: string) => {
      const m = mounts(service).find((x) => x.target === target);
      expect(m, `${service} ${target}`).toMatchObject({ type: 'volume' });
      expect(declared).toContain(m!.source);
    };
    expectVolume('timescaledb', '/var/lib/postgresql/data');
    expectVolume('redis', '/data');
    expectVolume('hub', serviceEnv('hub', minimalEnv).DATA_DIR);
    expectVolume('hub', serviceEnv('hub', minimalEnv).BACKUP_DIR);
    expectVolume('collector', serviceEnv('collector', minimalEnv).DATA_DIR);
    for (const s of Object.keys(compose.services)) for (const m of mounts(s)) if (m.type === 'volume') expect(declared).toContain(m.source);
  });

  test('the hub: every variable it reads is passed, and the result parses (defaults and .env.example)', () => {
    const env = compose.services.hub.environment as Record<string, unknown>;
    expect(HUB_ENV_VARIABLES.filter((v) => !(v in env))).toEqual([]);
    for (const source of [minimalEnv, envExample]) {
      const config = parseHubConfig([], serviceEnv('hub', source));
      expect(config).toMatchObject({ httpHost: '0.0.0.0', grpcHost: '0.0.0.0', httpPort: hubDefaults.httpPort, grpcPort: hubDefaults.grpcPort, dataDir: '/data' });
      expect(config.backup).toMatchObject({ intervalMs: 86_400_000, dir: '/backups' });
      // The hub reaches the other two services by their compose names, with the database's own credentials.
      expect(new URL(config.redisUrl!).host).toBe('redis:6379');
      const db = new URL(config.timescaleUrl!);
      const tsEnv = Object.fromEntries(Object.entries(compose.services.timescaledb.environment).map(([k, v]) => [k, interpolate(String(v), source)]));
      expect([db.hostname, db.port, db.username, decodeURIComponent(db.password), db.pathname]).toEqual(['timescaledb', '5432', tsEnv.POSTGRES_USER, tsEnv.POSTGRES_PASSWORD, `/${tsEnv.POSTGRES_DB}`]);
    }
    expect(() => serviceEnv('hub', {})).toThrow(/POSTGRES_PASSWORD/);
  });

  test('the hub: ports and health check match its configuration (8000 HTTP /ready, 50051 gRPC)', () => {
    expect([hubDefaults.httpPort, hubDefaults.grpcPort]).toEqual([8000, 50051]);
    const config = parseHubConfig([], serviceEnv('hub', minimalEnv));
    const ports = publishedPorts('hub', minimalEnv);
    expect(ports).toEqual([
      { host: '127.0.0.1:8000', container: config.httpPort },
      { host: '50051', container: config.grpcPort },
    ]);
    expect(publishedPorts('hub', { ...minimalEnv, HUB_HTTP_PUBLISH: '0.0.0.0:80' })[0]).toEqual({ host: '0.0.0.0:80', container: 8000 });
    // Node's fetch: the image has no curl or wget.
    const check = compose.services.hub.healthcheck.test;
    expect(check.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(check[3]).toContain(`fetch('http://127.0.0.1:${config.httpPort}/ready')`);
    expect(compose.services.hub.depends_on).toEqual({ timescaledb: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  });

  test('EDGE_URL and EDGE_API_KEY pass through to the hub', () => {
    const config = parseHubConfig([], serviceEnv('hub', { ...minimalEnv, EDGE_URL: 'wss://fleet.example.workers.dev/ingest', EDGE_API_KEY: 'k'.repeat(32) }));
    expect(config.edgeUrl).toBe('wss://fleet.example.workers.dev/ingest');
    expect(config.edgeApiKey).toBe('k'.repeat(32));
    expect(parseHubConfig([], serviceEnv('hub', minimalEnv)).edgeUrl).toBeUndefined();
  });

  test('the collector: every variable it reads is passed; it reads the host through read-only mounts', () => {
    const env = compose.services.collector.environment as Record<string, unknown>;
    expect(COLLECTOR_ENV_VARIABLES.filter((v) => !(v in env))).toEqual([]);
    for (const source of [minimalEnv, envExample]) {
      const config = parseCollectorConfig([], serviceEnv('collector', source), { hostname: 'docker-host' });
      expect(config.machineId).toBe('docker-host'); // empty MACHINE_ID: the (host's) hostname
      expect(config.sampler).toBe('proc');
      expect(config.dataDir).toBe('/data');
      const m = mounts('collector');
      const byTarget = (t: string) => m.find((x) => x.target === t);
      expect(byTarget(config.hostPaths.procDir)).toMatchObject({ type: 'bind', source: '/proc', readOnly: true });
      expect(byTarget(config.hostPaths.sysDir)).toMatchObject({ type: 'bind', source: '/sys', readOnly: true });
      expect(byTarget(config.hostPaths.rootDir)).toMatchObject({ type: 'bind', source: '/', readOnly: true, propagation: 'rslave' });
      // Host network: the hub is reached on the gRPC port it publishes on this host.
      const grpcPublished = publishedPorts('hub', source)[1].host.split(':').at(-1);
      expect(new URL(config.hubUrl).port).toBe(grpcPublished);
    }
    const s = compose.services.collector;
    expect(s.pid).toBe('host');
    expect(s.network_mode).toBe('host');
    expect(s.read_only).toBe(true);
    expect(s.cap_drop).toEqual(['ALL']);
    expect(s.security_opt).toContain('no-new-privileges:true');
    // Writable: nothing of the host.
    for (const mount of mounts('collector')) if (mount.type === 'bind') expect(mount.readOnly, mount.target).toBe(true);
  });

  test('shared secrets are one variable for both sides', () => {
    const hub = parseHubConfig([], serviceEnv('hub', { ...minimalEnv, COLLECTOR_TOKEN: 't'.repeat(24) }));
    const collector = parseCollectorConfig([], serviceEnv('collector', { ...minimalEnv, COLLECTOR_TOKEN: 't'.repeat(24) }), { hostname: 'h' });
    expect(hub.collectorToken).toBe(collector.token);
  });
});

describe('.env.example', () => {
  test('names every variable of the hub, the collector and compose', () => {
    const mentioned = mentionedInDotEnv(envExampleText);
    const expected = [...new Set([...HUB_ENV_VARIABLES, ...COLLECTOR_ENV_VARIABLES, ...COMPOSE_ONLY, ...referencedVariables(composeText)])];
    expect(expected.filter((v) => !mentioned.has(v))).toEqual([]);
  });

  test('assigns nothing unknown, and its values are valid', () => {
    const known = new Set([...HUB_ENV_VARIABLES, ...COLLECTOR_ENV_VARIABLES, ...COMPOSE_ONLY]);
    expect(Object.keys(envExample).filter((k) => !known.has(k))).toEqual([]);
    // As the CLI would read it (set -a; . ./.env): both parse.
    expect(() => parseHubConfig([], envExample)).not.toThrow();
    expect(() => parseCollectorConfig([], envExample, { hostname: 'h' })).not.toThrow();
  });

  test('.env itself stays out of git', () => {
    expect(readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('.env');
  });
});

describe('Dockerfiles', () => {
  const read = (name: string) => parseDockerfile(readFileSync(path.join(ROOT, 'deploy/docker', name), 'utf8'));
  const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const run = (stage: DockerStage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  /** Paths the final image holds: COPY from the context or from an earlier stage, by destination under WORKDIR. */
  const copied = (stage: DockerStage) =>
    stage.instructions
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => i.args.replace(/--\S+\s+/g, '').split(/\s+/).slice(0, -1))
      .map((p) => p.replace(/^\/src\//, '').replace(/^\.\//, ''));

  for (const [file, command, entries] of [
    ['hub.Dockerfile', 'hub', ['bin/sysmonstm.js', 'hub/main.ts', 'collector/main.ts']],
    // bin/sysmonstm.js loads the hub only for `hub`/`all`: the collector image follows collector/main.ts.
    ['collector.Dockerfile', 'collector', ['collector/main.ts']],
  ] as const) {
    describe(file, () => {
      const stages = read(file);
      const final = stages.at(-1)!;
      const keyword = (k: string) => final.instructions.filter((i) => i.keyword === k);

      test('every stage on NODE_IMAGE, a build argument (Debian bookworm with Node 22 by default)', () => {
        const text = readFileSync(path.join(ROOT, 'deploy/docker', file), 'utf8');
        expect(text).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim$/m);
        for (const line of text.split('\n').filter((l) => /^FROM\s/i.test(l))) expect(line).toMatch(/^FROM \$\{NODE_IMAGE\} AS \w+$/);
        for (const s of stages) expect(s.from).toBe('node:22-bookworm-slim');
        expect(stages.every((s) => s.name)).toBe(true);
        // apt-get, as on every Debian image: the default and the one compose-run.test.ts builds.
        expect(run(final)).toMatch(/apt-get install .*\btini\b/);
      });

      test('runtime: production dependencies from the lock file only', () => {
        expect(run(final)).toMatch(/npm ci --omit=dev/);
        expect(run(final)).not.toMatch(/npm (install|i)\b/);
      });

      test('runs as a non-root user, with a health check, tini and the right command', () => {
        const users = keyword('USER').map((i) => i.args);
        expect(users.length).toBeGreaterThanOrEqual(1);
        expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
        const order = final.instructions.map((i) => i.keyword);
        expect(order.lastIndexOf('USER')).toBeLessThan(order.indexOf('ENTRYPOINT'));
        expect(keyword('HEALTHCHECK')).toHaveLength(1);
        // No node options: `sysmonstm collector` re-executes node with the collector's own (bin/collector-node-options.js).
        expect(JSON.parse(keyword('ENTRYPOINT')[0].args)).toEqual(['/usr/bin/tini', '--', 'node', 'bin/sysmonstm.js']);
        expect(JSON.parse(keyword('CMD')[0].args)).toEqual([command]);
      });

      test('holds every module its entry points import', () => {
        const have = copied(final);
        const needed = [...importClosure(ROOT, [...entries]), 'bin/sysmonstm.js', 'package.json', 'package-lock.json'];
        const missing = needed.filter((f) => !have.some((p) => f === p || f.startsWith(p.replace(/\/?$/, '/'))));
        expect(missing).toEqual([]);
        // …and the build context does not exclude them.
        for (const top of new Set(needed.map((f) => f.split('/')[0]))) expect(dockerignore, top).not.toContain(top);
      });
    });
  }

  test('hub image: the dashboard is built in the build stage and copied; ports and health match the hub', () => {
    const stages = read('hub.Dockerfile');
    const build = stages[0];
    const final = stages.at(-1)!;
    expect(run(build)).toMatch(/npm ci\b/);
    expect(run(build)).toMatch(/npm run build:web/);
    expect(final.instructions.some((i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${build.name} `) && i.args.includes('web/dist'))).toBe(true);
    expect(dockerignore).toContain('web/dist'); // never a stale local build
    const env = final.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    const config = parseHubConfig([], Object.fromEntries([...env.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));
    expect([config.httpPort, config.grpcPort]).toEqual([hubDefaults.httpPort, hubDefaults.grpcPort]);
    expect(final.instructions.find((i) => i.keyword === 'EXPOSE')!.args.split(/\s+/).map(Number)).toEqual([config.httpPort, config.grpcPort]);
    expect(final.instructions.find((i) => i.keyword === 'HEALTHCHECK')!.args).toMatch(/fetch\('http:\/\/127\.0\.0\.1:\$\{HTTP_PORT\}\/ready'\)/);
    // pg_dump for scheduled backups, of the server's major version (16, as in docker-compose.yml).
    expect(run(final)).toContain('postgresql-client-${PG_CLIENT_MAJOR}');
    expect(final.instructions.filter((i) => i.keyword === 'ARG').map((i) => i.args)).toContain('PG_CLIENT_MAJOR=16');
    expect(compose.services.timescaledb.image).toMatch(/-pg16$/);
  });

  test('both runtime images start with the same steps (the build cache shares their production dependencies)', () => {
    const steps = (file: string) => read(file).at(-1)!.instructions;
    const hub = steps('hub.Dockerfile');
    const collector = steps('collector.Dockerfile');
    const shared = hub.findIndex((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args)) + 1;
    expect(shared).toBeGreaterThan(3);
    expect(collector.slice(0, shared)).toEqual(hub.slice(0, shared));
  });

  test('collector image: defaults to reading the host under /host, as docker-compose.yml mounts it', () => {
    const final = read('collector.Dockerfile').at(-1)!;
    const env = Object.fromEntries(
      [...final.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]),
    );
    const config = parseCollectorConfig([], env, { hostname: 'h' });
    const composeConfig = parseCollectorConfig([], serviceEnv('collector', minimalEnv), { hostname: 'h' });
    expect(config.hostPaths).toEqual(composeConfig.hostPaths);
    expect(config.dataDir).toBe(composeConfig.dataDir);
  });
});
