import { describe, expect, it } from 'vitest';
import {
  filesystemUsage,
  isPhysicalDisk,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMillidegreesCelsius,
  parseMounts,
  parseNetDev,
  parseProcStat,
  parseUptime,
  selectRealFilesystems,
} from '../../collector/proc-parsers.ts';

describe('parseProcStat', () => {
  it('reads the aggregate and per-core lines, cores in numeric order, ignoring guest columns', () => {
    const text = [
      'cpu  100 5 50 1000 20 3 2 7 40 0',
      'cpu10 1 0 1 10 0 0 0 0 0 0',
      'cpu0 60 5 30 500 10 2 1 4 0 0',
      'cpu1 40 0 20 500 10 1 1 3 0 0',
      'intr 12345 0 0',
      'ctxt 999',
    ].join('\n');
    const stat = parseProcStat(text);
    expect(stat.total).toEqual({ user: 100, nice: 5, system: 50, idle: 1000, iowait: 20, irq: 3, softirq: 2, steal: 7 });
    expect(stat.cores.map((c) => c.user)).toEqual([60, 40, 1]);
  });
  it('fills columns old kernels lack with 0', () => {
    expect(parseProcStat('cpu 1 2 3 4\n').total).toEqual({ user: 1, nice: 2, system: 3, idle: 4, iowait: 0, irq: 0, softirq: 0, steal: 0 });
  });
  it('throws when there is no aggregate line', () => {
    expect(() => parseProcStat('intr 1\n')).toThrow(/no aggregate/);
  });
});

describe('parseMeminfo', () => {
  const base = 'MemTotal:       1000 kB\nMemFree:         100 kB\nBuffers:  50 kB\nCached: 150 kB\nSReclaimable: 0 kB\n';
  it.each([
    ['with MemAvailable', base + 'MemAvailable:    400 kB\nSwapTotal: 200 kB\nSwapFree: 150 kB\n', { totalBytes: 1024000, availableBytes: 409600, usedBytes: 614400, usedPercent: 60, swapTotalBytes: 204800, swapUsedBytes: 51200, swapPercent: 25 }],
    ['old kernel without MemAvailable', base + 'SwapTotal: 0 kB\nSwapFree: 0 kB\n', { totalBytes: 1024000, availableBytes: 307200, usedBytes: 716800, usedPercent: 70, swapTotalBytes: 0, swapUsedBytes: 0, swapPercent: 0 }],
  ])('%s', (_name, text, expected) => {
    const mem = parseMeminfo(text);
    for (const [key, value] of Object.entries(expected)) expect(mem[key as keyof typeof mem]).toBeCloseTo(value, 6);
  });
  it('gives zeros, not NaN, for an empty file', () => {
    expect(parseMeminfo('')).toMatchObject({ totalBytes: 0, usedPercent: 0, swapPercent: 0 });
  });
});

describe('small /proc files', () => {
  it.each([
    ['0.12 0.34 0.56 2/345 6789\n', { load1m: 0.12, load5m: 0.34, load15m: 0.56 }],
    ['garbage', { load1m: 0, load5m: 0, load15m: 0 }],
  ])('parseLoadavg(%j)', (text, expected) => expect(parseLoadavg(text)).toEqual(expected));
  it('parseUptime', () => expect(parseUptime('6574.05 12773.70\n')).toBe(6574.05));
  it.each([
    ['45000', 45],
    ['-5000\n', -5],
    ['', null],
    ['abc', null],
    ['2000000', null],
  ])('parseMillidegreesCelsius(%j) = %s', (text, expected) => expect(parseMillidegreesCelsius(text)).toBe(expected));
});

describe('parseNetDev', () => {
  it('reads bytes and errors for each interface and skips the headers', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  193925    2694    0    0    0     0          0         0   193925    2694    0    0    0     0       0          0
  eth0: 512349316   12323    3    0    0     0          0         0   825582    7089    4    0    0     0       0          0
wlp2s0:1234 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0
`;
    expect(parseNetDev(text)).toEqual([
      { name: 'lo', recvBytes: 193925, recvErrors: 0, sentBytes: 193925, sentErrors: 0 },
      { name: 'eth0', recvBytes: 512349316, recvErrors: 3, sentBytes: 825582, sentErrors: 4 },
      { name: 'wlp2s0', recvBytes: 1234, recvErrors: 0, sentBytes: 99, sentErrors: 0 },
    ]);
  });
});

describe('parseDiskstats / isPhysicalDisk', () => {
  const text = ` 254       0 vda 90998 14100 4417242 84972 31094 27501 3979064 16646 0 17952 102845 10817 81 841416 943 5795 283
 254       1 vda1 100 0 200 0 50 0 100 0 0 0 0
   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0
 253       0 dm-0 1 0 8 0 1 0 8 0 0 0 0
`;
  it('converts sectors to bytes (always 512-byte sectors)', () => {
    expect(parseDiskstats(text)[0]).toEqual({ device: 'vda', readOps: 90998, readBytes: 4417242 * 512, writeOps: 31094, writeBytes: 3979064 * 512 });
  });
  it.each([
    ['vda', true],
    ['vda1', false],
    ['loop0', false],
    ['dm-0', false],
    ['nvme0n1', true],
    ['zram0', false],
  ])('%s counted as a physical disk: %s', (device, expected) => {
    expect(isPhysicalDisk(device, new Set(['vda', 'loop0', 'dm-0', 'nvme0n1', 'zram0']))).toBe(expected);
  });
});

describe('mounts', () => {
  const text = `proc /proc proc rw 0 0
sysfs /sys sysfs rw 0 0
/dev/vda / ext4 rw 0 0
tmpfs /dev/shm tmpfs rw 0 0
/dev/vda /var/lib/docker ext4 rw 0 0
/dev/sdb1 /mnt/My\\040Disk xfs rw 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
server:/export /mnt/nfs nfs4 rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
/dev/loop3 /snap/core/1 squashfs ro 0 0
`;
  it('unescapes octal escapes', () => {
    expect(parseMounts(text)).toContainEqual({ device: '/dev/sdb1', mount: '/mnt/My Disk', fsType: 'xfs' });
  });
  it('keeps real filesystems, each device once at its shortest mount', () => {
    expect(selectRealFilesystems(parseMounts(text))).toEqual([
      { device: '/dev/vda', mount: '/', fsType: 'ext4' },
      { device: '/dev/sdb1', mount: '/mnt/My Disk', fsType: 'xfs' },
    ]);
  });
  it("keeps an overlay only as a container's root", () => {
    expect(selectRealFilesystems(parseMounts('overlay / overlay rw 0 0\n'))).toEqual([{ device: 'overlay', mount: '/', fsType: 'overlay' }]);
  });
});

describe('filesystemUsage', () => {
  it.each([
    [{ blocks: 100, bfree: 30, bavail: 20, bsize: 4096 }, { sizeBytes: 409600, usedBytes: 286720, usedPercent: 70 / 90 * 100 }],
    [{ blocks: 100, bfree: 0, bavail: 0, bsize: 1024 }, { sizeBytes: 102400, usedBytes: 102400, usedPercent: 100 }],
    [{ blocks: 0, bfree: 0, bavail: 0, bsize: 4096 }, { sizeBytes: 0, usedBytes: 0, usedPercent: 0 }],
  ])('%j', (stats, expected) => {
    const usage = filesystemUsage(stats);
    expect(usage.sizeBytes).toBe(expected.sizeBytes);
    expect(usage.usedBytes).toBe(expected.usedBytes);
    expect(usage.usedPercent).toBeCloseTo(expected.usedPercent, 9);
  });
});
