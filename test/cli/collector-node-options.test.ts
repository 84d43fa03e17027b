// The collector's lean node options (bin/collector-node-options.js): when `sysmonstm collector`
// re-executes node with them (pure decision), that it really does so in the same process (a real
// `node bin/sysmonstm.js collector`, its /proc/<pid>/cmdline read while it runs): from a checkout it
// runs bin/sysmonstm.js again, from a built package the CommonJS entry bin/collector.cjs, which then
// streams to a real hub; the systemd unit and the collector image pass no node options of their own.
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_NODE_OPTIONS, collectorRelaunchArgv } from '../../bin/collector-node-options.js';
import { buildCollector } from '../../scripts/build.ts';
import { ROOT } from '../support/hub-process.ts';
import { tempDir, waitFor } from '../support/servers.ts';

const base = { command: 'collector', execArgv: [], argv: ['/usr/bin/node', '/opt/x/bin/sysmonstm.js', 'collector', '--hub', 'http://hub:50051'], execPath: '/usr/bin/node', env: {}, canExecve: true };

describe('collectorRelaunchArgv', () => {
  it('re-executes node with the options, the script and the arguments unchanged', () => {
    expect(collectorRelaunchArgv(base)).toEqual(['/usr/bin/node', ...COLLECTOR_NODE_OPTIONS, '/opt/x/bin/sysmonstm.js', 'collector', '--hub', 'http://hub:50051']);
    expect(COLLECTOR_NODE_OPTIONS).toEqual(['--max-semi-space-size=1', '--single-threaded', '--no-opt', '--no-sparkplug']);
  });

  it('with the built CommonJS entry: that entry and the collector arguments (without the command)', () => {
    expect(collectorRelaunchArgv({ ...base, cjsEntry: '/opt/x/bin/collector.cjs' })).toEqual(['/usr/bin/node', ...COLLECTOR_NODE_OPTIONS, '/opt/x/bin/collector.cjs', '--hub', 'http://hub:50051']);
  });

  it('leaves node as it is when it was given options (the user chose), NODE_OPTIONS is set, there is no execve, or another command runs', () => {
    expect(collectorRelaunchArgv({ ...base, execArgv: ['--max-semi-space-size=16'] })).toBeNull();
    // Once re-executed, node has the options: no loop.
    expect(collectorRelaunchArgv({ ...base, execArgv: [...COLLECTOR_NODE_OPTIONS] })).toBeNull();
    expect(collectorRelaunchArgv({ ...base, env: { NODE_OPTIONS: '--max-old-space-size=64' } })).toBeNull();
    expect(collectorRelaunchArgv({ ...base, env: { NODE_OPTIONS: '  ' } })).not.toBeNull();
    expect(collectorRelaunchArgv({ ...base, canExecve: false })).toBeNull();
    expect(collectorRelaunchArgv({ ...base, command: 'hub' })).toBeNull();
    expect(collectorRelaunchArgv({ ...base, command: 'all' })).toBeNull();
  });
});

/** Starts `node <nodeArgs> <root>/bin/sysmonstm.js collector` at a closed hub port and reads what its process runs. */
async function runningCommandLine(nodeArgs: string[], env: Record<string, string> = {}, root = ROOT): Promise<{ pid: number; cmdline: string[]; status: string }> {
  const dir = tempDir('relaunch');
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin/sysmonstm.js'), 'collector', '--hub', 'http://127.0.0.1:9', '--id', 'relaunch-test', '--data-dir', dir.path], {
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', TOP_PROCESSES: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    // The collector is running once it tried the (closed) hub port.
    await waitFor('the collector to try the hub', () => /stream to the hub failed/.test(output), 20_000).catch(() => {
      throw new Error(`the collector did not start:\n${output}`);
    });
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return { pid: child.pid!, cmdline, status };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    dir.remove();
  }
}

describe('sysmonstm collector, for real', () => {
  it('runs in the same process (pid) re-executed with the options', async () => {
    const { cmdline } = await runningCommandLine([]);
    expect(cmdline.slice(1, 1 + COLLECTOR_NODE_OPTIONS.length)).toEqual([...COLLECTOR_NODE_OPTIONS]);
    expect(cmdline.slice(1 + COLLECTOR_NODE_OPTIONS.length)).toEqual([path.join(ROOT, 'bin/sysmonstm.js'), 'collector', '--hub', 'http://127.0.0.1:9', '--id', 'relaunch-test', '--data-dir', expect.any(String)]);
  }, 30_000);

  it('keeps the options node was started with', async () => {
    const { cmdline } = await runningCommandLine(['--max-semi-space-size=4']);
    expect(cmdline[1]).toBe('--max-semi-space-size=4');
    expect(cmdline).not.toContain('--no-opt');
  }, 30_000);
});

describe('from a built package', () => {
  it('re-executes node with the options and the CommonJS entry, in the same process', async () => {
    const pkg = tempDir('relaunch-package');
    try {
      cpSync(path.join(ROOT, 'bin'), path.join(pkg.path, 'bin'), { recursive: true });
      cpSync(path.join(ROOT, 'package.json'), path.join(pkg.path, 'package.json'));
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg.path, 'node_modules'));
      await buildCollector(path.join(pkg.path, 'dist'));
      const { cmdline } = await runningCommandLine([], {}, pkg.path);
      expect(cmdline.slice(1)).toEqual([...COLLECTOR_NODE_OPTIONS, path.join(pkg.path, 'bin/collector.cjs'), '--hub', 'http://127.0.0.1:9', '--id', 'relaunch-test', '--data-dir', expect.any(String)]);
    } finally {
      pkg.remove();
    }
  }, 60_000);
});

describe('where users run the collector, node gets no options of its own (the launcher adds the collector’s)', () => {
  it('the systemd unit', () => {
    const unit = readFileSync(path.join(ROOT, 'deploy/systemd/sysmonstm-collector.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/sysmonstm\/node_modules\/sysmonstm\/bin\/sysmonstm.js collector$/m);
    expect(unit).not.toMatch(/^Environment=NODE_OPTIONS/m);
  });

  it('the collector image', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'deploy/docker/collector.Dockerfile'), 'utf8');
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1];
    expect(JSON.parse(entry)).toEqual(['/usr/bin/tini', '--', 'node', 'bin/sysmonstm.js']);
    expect(dockerfile).not.toMatch(/NODE_OPTIONS/);
  });
});
