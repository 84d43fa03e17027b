// The command line as a user meets it, the real CLI spawned each time: help on every command, the
// version, log formats (a terminal through script(1)), the first lines of `sysmonstm all`, where the
// gRPC port listens, the warning without a collector token, and the one-line exit-2 errors: files
// that cannot be read, `--id ""`, a collector pointed at the dashboard port or at a TLS port with
// http://.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { collectorOptions } from '../../collector/usage.ts';
import { hubOptions } from '../../hub/usage.ts';
import { ROOT, runCli, type CliProcess } from '../support/hub-process.ts';
import { createTestDatabase, freePort, tempDir, waitFor } from '../support/servers.ts';

const execFileP = promisify(execFile);
const CLI = path.join(ROOT, 'bin', 'sysmonstm.js');
const dir = tempDir('cli');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// Nothing from the caller's environment that changes what is tested.
const baseEnv: NodeJS.ProcessEnv = { ...process.env, LOG_FORMAT: '', LOG_LEVEL: 'info', COLLECTOR_TOKEN: '', COLLECTOR_TOKENS_FILE: '', TIMESCALE_URL: '', REDIS_URL: '', DATA_DIR: '' };

/** Runs the CLI to its end; exit code, stdout and stderr. */
async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], { cwd: dir.path, env: { ...baseEnv, ...env }, timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Exit 2 and exactly one line on stderr, without a stack trace. */
function expectOneLineExit2(result: { code: number; stderr: string }, ...contains: string[]) {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  for (const text of contains) expect(lines[0]).toContain(text);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string } & Record<string, unknown>);

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterAll(() => dir.remove());

describe('help and version', () => {
  test('--help and -h on every command, help COMMAND, and the top-level usage lists every flag', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage:');
      for (const o of hubOptions()) expect(r.stdout, o.flag).toContain(`[${o.flag}]`);
      for (const o of collectorOptions()) expect(r.stdout, o.flag).toContain(`[${o.flag}]`);
      // The two that were missing before.
      expect(r.stdout).toContain('[--label KEY=VALUE]');
      expect(r.stdout).toContain('[--token TOKEN]');
    }
    for (const [args, usage] of [
      [['hub', '--help'], 'Usage: sysmonstm hub'],
      [['hub', '-h'], 'Usage: sysmonstm hub'],
      [['all', '--help'], 'Usage: sysmonstm [all]'],
      [['--http-port', '9', '--help'], 'Usage: sysmonstm [all]'],
      [['collector', '--help'], 'Usage: sysmonstm collector'],
      [['collector', '--id', 'x', '-h'], 'Usage: sysmonstm collector'],
      [['help', 'collector'], 'Usage: sysmonstm collector'],
      [['help', 'hub'], 'Usage: sysmonstm hub'],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toContain(usage);
    }
    const hubHelp = (await cli(['hub', '--help'])).stdout;
    for (const o of hubOptions()) expect(hubHelp).toMatch(new RegExp(`${o.flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+${o.variable}\\s+\\S`));
    const collectorHelp = (await cli(['collector', '--help'])).stdout;
    for (const o of collectorOptions()) expect(collectorHelp).toContain(o.flag);
  }, 90_000);

  test('--version, -V and version print the package version', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`sysmonstm ${VERSION}\n`);
    }
  });

  test('an unknown command exits 2 with the usage', async () => {
    const r = await cli(['serve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "serve"');
    expect(r.stderr).toContain('Usage:');
  });
});

describe('configuration errors: one line naming the variable, exit 2', () => {
  test('unreadable GRPC_TLS_CERT, COLLECTOR_TOKENS_FILE and --hub-ca', async () => {
    const missing = path.join(dir.path, 'no-such-file.pem');
    const hubEnv = { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: path.join(dir.path, 'hub-errors') };
    expectOneLineExit2(await cli(['hub'], { ...hubEnv, GRPC_TLS_CERT: missing, GRPC_TLS_KEY: missing }), 'GRPC_TLS_CERT', missing, 'no such file or directory');
    expectOneLineExit2(await cli(['hub', '--collector-tokens-file', missing], hubEnv), 'COLLECTOR_TOKENS_FILE', missing);
    // A readable file that is not a certificate.
    const notPem = path.join(dir.path, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    expectOneLineExit2(await cli(['hub'], { ...hubEnv, GRPC_TLS_CERT: notPem, GRPC_TLS_KEY: notPem }), 'GRPC_TLS_CERT, GRPC_TLS_KEY');
    expectOneLineExit2(await cli(['collector', '--hub', 'https://localhost:1', '--hub-ca', missing, '--data-dir', path.join(dir.path, 'c-errors')]), 'AGGREGATOR_CA_FILE (--hub-ca)', missing);
  });

  test('--data-dir under a file, for the hub and the collector', async () => {
    const file = path.join(dir.path, 'a-file');
    writeFileSync(file, 'x');
    expectOneLineExit2(await cli(['hub', '--http-port', '0', '--grpc-port', '0', '--data-dir', path.join(file, 'data')]), 'DATA_DIR', path.join(file, 'data'));
    expectOneLineExit2(await cli(['collector', '--hub', 'http://127.0.0.1:1', '--data-dir', path.join(file, 'data')]), 'DATA_DIR (--data-dir)', 'not a directory');
  });

  test('--id "" is refused, not turned into the hostname', async () => {
    expectOneLineExit2(await cli(['collector', '--id', '', '--data-dir', path.join(dir.path, 'c-id')]), '--id must not be empty');
    expectOneLineExit2(await cli(['collector', '--id=', '--data-dir', path.join(dir.path, 'c-id')]), '--id must not be empty');
  });
});

describe('log format', () => {
  test('JSON lines when stdout is not a terminal; LOG_FORMAT=pretty overrides', async () => {
    const args = ['collector', '--hub', 'http://127.0.0.1:1', '--id', 'log-json', '--data-dir', path.join(dir.path, 'c-log')];
    const json = runCli(args, { LOG_FORMAT: '' });
    await waitFor('collector started', () => json.output().includes('collector started'), 15_000);
    await json.stop();
    expect(jsonLines(json.output()).some((l) => l.msg === 'collector started')).toBe(true);

    const pretty = runCli(args, { LOG_FORMAT: 'pretty' });
    await waitFor('collector started', () => pretty.output().includes('collector started'), 15_000);
    await pretty.stop();
    expect(pretty.output()).toMatch(/INFO.*\(collector\).*collector started/);
    expect(jsonLines(pretty.output())).toEqual([]);
  });

  test.runIf(existsSync('/usr/bin/script'))('human-readable on a terminal (script(1) gives it one); LOG_FORMAT=json overrides', () => {
    const onTerminal = (env: string) =>
      spawnSync('/usr/bin/script', ['-qec', `${env} timeout -s INT 10 ${process.execPath} ${CLI} collector --hub http://127.0.0.1:1 --id log-tty --data-dir ${path.join(dir.path, 'c-tty')}`, '/dev/null'], {
        cwd: dir.path,
        env: baseEnv,
        encoding: 'utf8',
        timeout: 30_000,
      }).stdout;
    const pretty = onTerminal('');
    expect(pretty).toMatch(/INFO.*\(collector\).*collector started/);
    expect(pretty).not.toContain('"msg":');
    const json = onTerminal('LOG_FORMAT=json');
    expect(json).toContain('"msg":"collector started"');
  }, 90_000);
});

describe('starting the hub', () => {
  test('`sysmonstm all`: the first lines name the dashboard and the first-start database setup; gRPC on 127.0.0.1 only', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const all = runCli(['all', '--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--data-dir', path.join(dir.path, 'all-data')], { ...baseEnv, LOG_FORMAT: '' } as Record<string, string>);
    try {
      await waitFor('the local collector', () => all.output().includes('local collector started'), 60_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}\n${all.output()}`);
      });
      const lines = jsonLines(all.output());
      expect(lines[0].msg).toBe(`Dashboard: http://127.0.0.1:${httpPort}/`);
      expect(lines[1].msg).toMatch(/^first start: setting up the embedded database in .*all-data\/pgdata/);
      expect(lines.find((l) => l.msg === 'hub listening')).toMatchObject({ grpc: `127.0.0.1:${grpcPort}` });
      // Bound to 127.0.0.1, not all interfaces: another loopback address finds nothing.
      expect(await canConnect('127.0.0.1', grpcPort)).toBe(true);
      expect(await canConnect('127.0.0.2', grpcPort)).toBe(false);
      // One machine, no token needed: no warning.
      expect(lines.some((l) => l.level === 40 && /COLLECTOR_TOKEN/.test(l.msg))).toBe(false);
    } finally {
      expect(await all.stop()).toBe(0);
    }
    // A second start: the database is there, no setup note.
    const again = runCli(['all', '--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--data-dir', path.join(dir.path, 'all-data')], {});
    try {
      await waitFor('the hub listening', () => again.output().includes('hub listening'), 60_000, 200);
      expect(again.output()).not.toContain('first start');
    } finally {
      await again.stop();
    }
  }, 120_000);
});

describe('a hub with TLS on gRPC, and collectors pointed at the wrong port', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let hub: CliProcess;
  let httpPort: number;
  let grpcPort: number;
  const cert = path.join(dir.path, 'hub-cert.pem');
  const key = path.join(dir.path, 'hub-key.pem');

  beforeAll(async () => {
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    db = await createTestDatabase();
    [httpPort, grpcPort] = [await freePort(), await freePort()];
    hub = runCli(['hub'], { ...(baseEnv as Record<string, string>), HTTP_PORT: String(httpPort), GRPC_PORT: String(grpcPort), DATA_DIR: path.join(dir.path, 'tls-hub'), TIMESCALE_URL: db.url, GRPC_TLS_CERT: cert, GRPC_TLS_KEY: key });
    await waitFor('the TLS hub listening', () => hub.output().includes('hub listening'), 60_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub.output()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  test('`sysmonstm hub` listens on all interfaces and warns that no collector token is set', async () => {
    const lines = jsonLines(hub.output());
    expect(lines.find((l) => l.msg === 'hub listening')).toMatchObject({ grpc: `0.0.0.0:${grpcPort}` });
    expect(await canConnect('127.0.0.2', grpcPort)).toBe(true);
    const warning = lines.find((l) => l.level === 40 && l.msg.startsWith('no COLLECTOR_TOKEN'));
    expect(warning?.msg).toContain(`0.0.0.0:${grpcPort}`);
  });

  test('a collector at the dashboard port exits 2: "that is the hub\'s dashboard port; the gRPC port is 50051"', async () => {
    const r = await cli(['collector', '--hub', `http://127.0.0.1:${httpPort}`, '--id', 'wrong-port', '--data-dir', path.join(dir.path, 'c-wrong-port')]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("that is the hub's dashboard port; the gRPC port is 50051");
    expect(r.stderr).toContain(`AGGREGATOR_URL (--hub) http://127.0.0.1:${httpPort}`);
    expect(r.stderr).not.toContain('ERR_HTTP2');
  });

  test('http:// to the TLS gRPC port exits 2 with "use https://"; https:// with --hub-ca connects', async () => {
    const r = await cli(['collector', '--hub', `http://127.0.0.1:${grpcPort}`, '--id', 'plain-to-tls', '--data-dir', path.join(dir.path, 'c-plain')]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('use https://');

    const good = runCli(['collector', '--hub', `https://localhost:${grpcPort}`, '--hub-ca', cert, '--id', 'tls-ok', '--interval', '0.5', '--data-dir', path.join(dir.path, 'c-tls')], baseEnv as Record<string, string>);
    try {
      await waitFor('the TLS collector connected', () => good.output().includes('connected to the hub'), 20_000, 100).catch((err: Error) => {
        throw new Error(`${err.message}\n${good.output()}`);
      });
    } finally {
      expect(await good.stop()).toBe(0);
    }
  });
});
