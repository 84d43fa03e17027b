// HOST_PROC / HOST_SYS / HOST_ROOT: a collector in a container reads the host through bind mounts
// (/host/proc, /host/sys, /host/root). A fake host tree built from this machine's real /proc files
// proves every read goes through the configured roots: process count, mounts from the host's init
// process, statfs under the host root, and the OS name from the host's os-release.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCollectorConfig } from '../../collector/config.ts';
import { createProcSampler } from '../../collector/proc-sampler.ts';
import { tempDir } from '../support/servers.ts';

describe('collector host paths: config', () => {
  it('defaults to this machine', () => {
    const c = parseCollectorConfig([], {}, { hostname: 'box' });
    expect(c.hostPaths).toEqual({ procDir: '/proc', sysDir: '/sys', rootDir: '/' });
  });

  it('takes env and flags, flags win, trailing slashes dropped', () => {
    const c = parseCollectorConfig(['--host-root', '/host/root/'], { HOST_PROC: '/host/proc', HOST_SYS: '/host/sys/', HOST_ROOT: '/elsewhere' }, { hostname: 'box' });
    expect(c.hostPaths).toEqual({ procDir: '/host/proc', sysDir: '/host/sys', rootDir: '/host/root' });
    expect(Object.isFrozen(c.hostPaths)).toBe(true);
  });

  it.each([
    [{ HOST_PROC: 'host/proc' }, /HOST_PROC must be an absolute path/],
    [{ HOST_SYS: 'sys' }, /HOST_SYS must be an absolute path/],
  ])('%o is refused with the variable named', (env, message) => {
    expect(() => parseCollectorConfig([], env, { hostname: 'box' })).toThrow(message);
  });

  it('names the flag when the flag is wrong', () => {
    expect(() => parseCollectorConfig(['--host-root', 'relative'], {}, { hostname: 'box' })).toThrow(/--host-root must be an absolute path/);
  });
});

describe.runIf(process.platform === 'linux')('proc sampler reading a host mounted elsewhere', () => {
  const dir = tempDir('host-paths');
  const proc = path.join(dir.path, 'proc');
  const sys = path.join(dir.path, 'sys');
  const root = path.join(dir.path, 'root');

  beforeAll(() => {
    for (const d of [proc, path.join(proc, 'net'), path.join(proc, '1'), path.join(proc, '42'), path.join(proc, '4242'), path.join(proc, 'self'), sys, path.join(root, 'etc'), path.join(root, 'sysmonstm-host-only')]) {
      mkdirSync(d, { recursive: true });
    }
    // procfs files report size 0, so they are read and written rather than copied.
    for (const f of ['stat', 'meminfo', 'loadavg', 'uptime', 'net/dev', 'diskstats']) writeFileSync(path.join(proc, f), readFileSync(`/proc/${f}`));
    // The container's own mount table (what <proc>/mounts shows) must be ignored in favour of the host's.
    writeFileSync(path.join(proc, 'mounts'), 'overlay / overlay rw 0 0\n/dev/container /container-only ext4 rw 0 0\n');
    writeFileSync(path.join(proc, '1', 'mounts'), 'hostdisk / ext4 rw 0 0\nsrvdisk /sysmonstm-host-only xfs rw 0 0\nproc /proc proc rw 0 0\n');
    writeFileSync(path.join(root, 'etc', 'os-release'), 'NAME="Host"\nPRETTY_NAME="Host OS 1.0"\n');
  });
  afterAll(() => dir.remove());

  it('samples through the configured roots', async () => {
    const sampler = createProcSampler({ procDir: proc, sysDir: sys, rootDir: root });
    await sampler.prime();
    await new Promise((r) => setTimeout(r, 50));
    const sample = await sampler.sample();
    // Host mount points, as the host names them; statfs ran under the host root (the second mount
    // exists only there, so ignoring HOST_ROOT would leave it out).
    expect(sample.filesystems.map((f) => [f.mount, f.device, f.fsType])).toEqual([
      ['/', 'hostdisk', 'ext4'],
      ['/sysmonstm-host-only', 'srvdisk', 'xfs'],
    ]);
    for (const fs of sample.filesystems) expect(fs.sizeBytes).toBeGreaterThan(0);
    expect(sample.processCount).toBe(3); // 1, 42, 4242 — not "self", not this machine's real processes
    const realMem = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1];
    expect(sample.memory.totalBytes).toBe(Number(realMem) * 1024);
    expect(sample.temperatures).toEqual([]); // the fake /sys has no sensors
    expect((await sampler.describe()).os).toBe('Host OS 1.0');
  });

  it('falls back to <proc>/mounts without a host root', async () => {
    const sampler = createProcSampler({ procDir: proc, sysDir: sys });
    await sampler.prime();
    const sample = await sampler.sample();
    // '/' exists here; /container-only does not, so statfs fails and it is left out.
    expect(sample.filesystems.map((f) => f.mount)).toEqual(['/']);
    expect(sample.filesystems[0].device).toBe('overlay');
  });
});
