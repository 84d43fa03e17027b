// deploy/systemd/sysmonstm-collector.service: the directives that make it an unprivileged, restarting,
// hardened service (read statically), then systemd's own verdict where systemd-analyze is installed —
// `verify` (every key known and well formed, the command executable) and the offline security score.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { COLLECTOR_ENV_VARIABLES, parseCollectorConfig } from '../../collector/config.ts';
import { parseDotEnv } from '../support/deploy-files.ts';
import { ROOT } from '../support/hub-process.ts';
import { tempDir } from '../support/servers.ts';

const run = promisify(execFile);
const UNIT_FILE = path.join(ROOT, 'deploy/systemd/sysmonstm-collector.service');
const unitText = readFileSync(UNIT_FILE, 'utf8');

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

const unit = parseUnit(unitText);
const service = unit.Service;
const one = (key: string) => {
  expect(service[key], key).toHaveLength(1);
  return service[key][0];
};

const hasSystemdAnalyze = existsSync('/usr/bin/systemd-analyze') || existsSync('/bin/systemd-analyze');
const dir = tempDir('systemd-unit');
afterAll(() => dir.remove());

/** The unit with ExecStart pointing at this machine's node, so `verify` can check it is executable. */
function localCopy(): string {
  const file = path.join(dir.path, 'sysmonstm-collector.service');
  writeFileSync(file, unitText.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
  return file;
}

describe('sysmonstm-collector.service', () => {
  test('runs the collector from the installed sources as an unprivileged dynamic user', () => {
    expect(one('ExecStart')).toBe('/usr/bin/node /opt/sysmonstm/bin/sysmonstm.js collector');
    expect(one('DynamicUser')).toBe('yes');
    expect(service.User).toBeUndefined();
    expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
    expect(unit.Unit.After).toContain('network-online.target');
  });

  test('restarts on failure but not on a configuration error', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartSec')).toMatch(/^\d+s$/);
    // The collector exits 2 when its configuration is invalid (collector/main.ts).
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(readFileSync(path.join(ROOT, 'collector/main.ts'), 'utf8')).toMatch(/process\.exit\(2\)/);
  });

  test('settings from an EnvironmentFile; DATA_DIR is its StateDirectory', () => {
    expect(one('EnvironmentFile')).toBe('/etc/sysmonstm/collector.env');
    const state = one('StateDirectory');
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
    expect(one('MemoryMax')).toMatch(/^\d+M$/);
    // Node's JIT cannot run with W^X memory enforced.
    expect(one('MemoryDenyWriteExecute')).toBe('no');
  });

  test('the example EnvironmentFile holds only collector variables, and they parse', () => {
    const env = parseDotEnv(readFileSync(path.join(ROOT, 'deploy/systemd/collector.env'), 'utf8'));
    expect(Object.keys(env).filter((k) => !COLLECTOR_ENV_VARIABLES.includes(k))).toEqual([]);
    const config = parseCollectorConfig([], { ...env, AGGREGATOR_URL: 'http://hub.example:50051', DATA_DIR: '/var/lib/sysmonstm-collector' }, { hostname: 'web-01' });
    expect(config).toMatchObject({ machineId: 'web-01', hubUrl: 'http://hub.example:50051', intervalMs: 1000 });
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
