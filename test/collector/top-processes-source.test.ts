// Top processes from a fake /proc: the parsers against kernel-format lines (a command name with
// spaces and parentheses), the choice of the top N by CPU and by memory, CPU % over the interval,
// users from the host's /etc/passwd, and the TOP_PROCESSES_INTERVAL cadence.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePidStat, parsePidStatus, selectTopProcesses } from '../../collector/process-parsers.ts';
import { createTopProcessesSource } from '../../collector/top-processes-source.ts';
import { pidStatLine, writeProcess, writeTree } from '../support/fake-host-tree.ts';
import { tempDir } from '../support/servers.ts';

describe('process parsers', () => {
  it('reads a stat line whose name holds spaces and parentheses', () => {
    const line = pidStatLine({ pid: 77, comm: 'Web Content (x)', state: 'R', utime: 120, stime: 30, rssPages: 2500 });
    expect(parsePidStat(line)).toEqual({ name: 'Web Content (x)', state: 'R', cpuTicks: 150, rssPages: 2500 });
    expect(parsePidStat('garbage')).toBeNull();
  });

  it('reads uid and VmRSS from status; kernel threads have no VmRSS', () => {
    expect(parsePidStatus('Name:\tx\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t  2048 kB\n')).toEqual({ uid: 1000, rssBytes: 2048 * 1024 });
    expect(parsePidStatus('Name:\tkworker/0:1\nUid:\t0\t0\t0\t0\n')).toEqual({ uid: 0, rssBytes: null });
  });

  it('takes the top N by CPU and the top N by memory, each process once', () => {
    const p = (pid: number, cpuPercent: number, rssBytes: number) => ({ pid, cpuPercent, rssBytes });
    const all = [p(1, 50, 10), p(2, 40, 20), p(3, 0, 9000), p(4, 30, 8000), p(5, 1, 1)];
    expect(selectTopProcesses(all, 2).map((x) => x.pid)).toEqual([1, 2, 4, 3]);
    expect(selectTopProcesses(all, 0)).toEqual([]);
    expect(selectTopProcesses(all, 10)).toHaveLength(5);
  });
});

describe('top processes source', () => {
  const dir = tempDir('top');
  const proc = path.join(dir.path, 'proc');
  const root = path.join(dir.path, 'root');
  afterAll(() => dir.remove());

  it('samples every interval, with CPU over the interval and users by name', () => {
    writeTree(root, { 'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\npostgres:x:105:110::/var/lib/postgresql:/bin/bash\n' });
    writeTree(proc, { 'self/stat': 'not a pid', meminfo: 'MemTotal: 1 kB\n' });
    writeProcess(proc, { pid: 1, comm: 'init', utime: 100, stime: 100, rssPages: 1000, uid: 0, vmRssKb: 4000 });
    writeProcess(proc, { pid: 300, comm: 'postgres', utime: 1000, stime: 0, rssPages: 50_000, uid: 105, vmRssKb: 200_000 });
    writeProcess(proc, { pid: 400, comm: 'busy loop', state: 'R', utime: 0, stime: 0, rssPages: 200, uid: 4242, vmRssKb: 800 });
    writeProcess(proc, { pid: 500, comm: 'evil\n\u001b[2J', utime: 0, stime: 0, rssPages: 1, uid: 0, vmRssKb: 4 });
    let clock = 0;
    const source = createTopProcessesSource({ procDir: proc, rootDir: root, count: 1, intervalMs: 5000, now: () => clock });
    source.prime();
    clock = 1000;
    expect(source.sampleIfDue()).toBeUndefined(); // not due yet
    clock = 5000;
    writeProcess(proc, { pid: 400, comm: 'busy loop', state: 'R', utime: 400, stime: 100, rssPages: 200, uid: 4242, vmRssKb: 800 });
    const top = source.sampleIfDue()!;
    // busy loop: 500 ticks (5 s) in 5 s = 100 %; postgres has the most memory.
    expect(top).toEqual([
      { pid: 400, name: 'busy loop', user: '4242', cpuPercent: 100, rssBytes: 800 * 1024, state: 'R' },
      { pid: 300, name: 'postgres', user: 'postgres', cpuPercent: 0, rssBytes: 200_000 * 1024, state: 'S' },
    ]);
    expect(source.sampleIfDue()).toBeUndefined();
    // A name with control characters is made printable (the hub would refuse the report).
    clock = 10_000;
    writeProcess(proc, { pid: 500, comm: 'evil\n\u001b[2J', utime: 900, stime: 0, rssPages: 1, uid: 0, vmRssKb: 4 });
    expect(source.sampleIfDue()![0]).toMatchObject({ pid: 500, name: 'evil??[2J', user: 'root' });
  });
});
