// deploy/systemd/sysmonstm-collector.service and sysmonstm-hub.service: the directives that make each
// an unprivileged, restarting, hardened service running the installed package (read statically), their
// example EnvironmentFiles, then systemd's own verdict where systemd-analyze is installed — `verify`
// (every key known and well formed, the command executable) and the offline security score.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { COLLECTOR_ENV_VARIABLES, parseCollectorConfig } from '../../collector/config.ts';
import { HUB_ENV_VARIABLES, parseHubConfig } from '../../hub/config.ts';
import { parseDotEnv } from '../support/deploy-files.ts';
import { entryPoints } from '../../bin/entry-points.js';
import { ROOT } from '../support/hub-process.ts';
import { tempDir } from '../support/servers.ts';

const run = promisify(execFile);

/** section → key → values (a key may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq <= 0) throw new Error(`bad unit line: ${line}`);
    (out[section][line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

const hasSystemdAnalyze = existsSync('/usr/bin/systemd-analyze') || existsSync('/bin/systemd-analyze');
const dir = tempDir('systemd-unit');
afterAll(() => dir.remove());

/** Where the npm package is installed (`npm install --prefix /opt/sysmonstm ...`). */
const PACKAGE_DIR = '/opt/sysmonstm/node_modules/sysmonstm';

for (const name of ['collector', 'hub'] as const) {
  const unitText = readFileSync(path.join(ROOT, `deploy/systemd/sysmonstm-${name}.service`), 'utf8');
  const unit = parseUnit(unitText);
  const service = unit.Service;
  const one = (key: string) => {
    expect(service[key], key).toHaveLength(1);
    return service[key][0];
  };
  /** The unit with ExecStart pointing at this machine's node, so `verify` can check it is executable. */
  const localCopy = (): string => {
    const file = path.join(dir.path, `sysmonstm-${name}.service`);
    writeFileSync(file, unitText.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
    return file;
  };

  describe(`sysmonstm-${name}.service`, () => {
    test('runs the installed package (its built JavaScript) as an unprivileged dynamic user', () => {
      // No node options: `sysmonstm collector` re-executes node with the collector's own (bin/collector-node-options.js).
      expect(one('ExecStart')).toBe(`/usr/bin/node ${PACKAGE_DIR}/bin/sysmonstm.js ${name}`);
      // Under node_modules, bin/sysmonstm.js runs dist/ (bin/entry-points.js).
      expect(entryPoints(PACKAGE_DIR, () => true).mode).toBe('built');
      expect(one('DynamicUser')).toBe('yes');
      expect(service.User).toBeUndefined();
      expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
      expect(unit.Unit.After).toContain('network-online.target');
      expect(unit.Unit.Documentation).toEqual([`file:${PACKAGE_DIR}/docs/deployment.md`]);
      // The install lines name the files this folder ships.
      for (const file of unitText.matchAll(/install (?:-D )?-m \d+ (deploy\/systemd\/\S+)/g)) expect(existsSync(path.join(ROOT, file[1])), file[1]).toBe(true);
    });

    test('restarts on failure but not on a configuration error', () => {
      expect(one('Restart')).toBe('on-failure');
      expect(one('RestartSec')).toMatch(/^\d+s$/);
      // The command exits 2 when its configuration is invalid (collector/main.ts, hub/main.ts).
      expect(one('RestartPreventExitStatus')).toBe('2');
      expect(readFileSync(path.join(ROOT, `${name}/main.ts`), 'utf8')).toMatch(/process\.exit\(2\)/);
    });

    test('settings from an EnvironmentFile; DATA_DIR is its StateDirectory', () => {
      expect(one('EnvironmentFile')).toBe(`/etc/sysmonstm/${name}.env`);
      const state = one('StateDirectory');
      expect(state).toBe(`sysmonstm-${name}`);
      expect(service.Environment).toContain(`DATA_DIR=/var/lib/${state}`);
      expect(one('WorkingDirectory')).toBe(`/var/lib/${state}`);
    });

    test('hardened: no privileges, read-only system, restricted kernel and network access', () => {
      for (const [key, value] of Object.entries({
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'read-only',
        PrivateTmp: 'yes',
        PrivateDevices: 'yes',
        ProtectKernelTunables: 'yes',
        ProtectKernelModules: 'yes',
        ProtectControlGroups: 'yes',
        RestrictSUIDSGID: 'yes',
        LockPersonality: 'yes',
      })) {
        expect(one(key), key).toBe(value);
      }
      expect(one('CapabilityBoundingSet')).toBe('');
      expect(one('RestrictAddressFamilies').split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
      // A small agent is kept small; the hub's memory grows with the fleet and is not capped here.
      if (name === 'collector') expect(one('MemoryMax')).toMatch(/^\d+M$/);
      // Node's JIT cannot run with W^X memory enforced.
      expect(one('MemoryDenyWriteExecute')).toBe('no');
    });

    test.runIf(hasSystemdAnalyze)('systemd-analyze verify: every key known and well formed', async () => {
      const { stdout, stderr } = await run('systemd-analyze', ['verify', localCopy()]);
      expect(`${stdout}${stderr}`.trim()).toBe('');
    });

    test.runIf(hasSystemdAnalyze)('systemd-analyze security: exposure at most 2.0 ("OK")', async () => {
      const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--threshold=20', localCopy()]);
      const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(stdout)?.[1]);
      expect(score).toBeLessThanOrEqual(2);
    });
  });
}

describe('the example EnvironmentFiles', () => {
  test('collector.env holds only collector variables, and they parse', () => {
    const env = parseDotEnv(readFileSync(path.join(ROOT, 'deploy/systemd/collector.env'), 'utf8'));
    expect(Object.keys(env).filter((k) => !COLLECTOR_ENV_VARIABLES.includes(k))).toEqual([]);
    const config = parseCollectorConfig([], { ...env, AGGREGATOR_URL: 'http://hub.example:50051', DATA_DIR: '/var/lib/sysmonstm-collector' }, { hostname: 'web-01' });
    expect(config).toMatchObject({ machineId: 'web-01', hubUrl: 'http://hub.example:50051', intervalMs: 1000 });
  });

  test('hub.env holds only hub variables, and they parse: gRPC on all interfaces, the dashboard on loopback', () => {
    const env = parseDotEnv(readFileSync(path.join(ROOT, 'deploy/systemd/hub.env'), 'utf8'));
    expect(Object.keys(env).filter((k) => !HUB_ENV_VARIABLES.includes(k))).toEqual([]);
    expect(Object.keys(env)).toContain('COLLECTOR_TOKEN');
    const config = parseHubConfig([], { ...env, DATA_DIR: '/var/lib/sysmonstm-hub' }, { command: 'hub' });
    expect(config).toMatchObject({ grpcHost: '0.0.0.0', grpcPort: 50051, httpHost: '127.0.0.1', httpPort: 8000, logFormat: 'json', dataDir: '/var/lib/sysmonstm-hub' });
    expect(config.backup.intervalMs).toBe(86_400_000);
  });
});
