// The portable sampler for macOS, Windows and the BSDs, over `systeminformation`. Heavier than the
// /proc path (it spawns helper processes on some platforms), so Linux uses proc-sampler.ts. Rates are
// computed here from the library's byte/op totals with the same rules as on Linux (rates.ts).
import { arch, loadavg, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import si from 'systeminformation';
import { counterRatePerSec } from './rates.ts';
import type { MachineInfo, MachineSample, Sampler } from './sampler.ts';

/** Totals that systeminformation reports for the whole machine; disks are not broken down per device. */
interface Totals {
  atMs: number;
  interfaces: Map<string, { rx: number; tx: number; rxErrors: number; txErrors: number }>;
  readBytes: number | null;
  writeBytes: number | null;
  readOps: number | null;
  writeOps: number | null;
}

/** A failure of one optional part leaves it out of the sample instead of failing the whole sample. */
async function optional<T>(promise: Promise<T>): Promise<T | null> {
  try {
    return await promise;
  } catch {
    return null;
  }
}

const SKIPPED_FS_TYPES = new Set(['tmpfs', 'devtmpfs', 'overlay', 'squashfs', 'devfs', 'autofs', 'nfs', 'smbfs', 'cifs']);

export function createSiSampler(): Sampler {
  let previous: Totals | undefined;

  async function readTotals(): Promise<Totals> {
    const [nets, fsStats, io] = await Promise.all([optional(si.networkStats('*')), optional(si.fsStats()), optional(si.disksIO())]);
    return {
      atMs: performance.now(),
      interfaces: new Map((nets ?? []).map((n) => [n.iface, { rx: n.rx_bytes, tx: n.tx_bytes, rxErrors: n.rx_errors, txErrors: n.tx_errors }])),
      readBytes: fsStats?.rx ?? null,
      writeBytes: fsStats?.wx ?? null,
      readOps: io?.rIO ?? null,
      writeOps: io?.wIO ?? null,
    };
  }

  return {
    kind: 'systeminformation',

    async prime() {
      previous = await readTotals();
      await optional(si.currentLoad()); // the library's load figures are relative to its previous call
    },

    async sample(): Promise<MachineSample> {
      const [load, mem, fsList, processes, temps, uptime, totals] = await Promise.all([
        si.currentLoad(),
        si.mem(),
        optional(si.fsSize()),
        optional(si.processes()),
        optional(si.cpuTemperature()),
        Number(si.time().uptime) || 0,
        readTotals(),
      ]);
      const before = previous;
      previous = totals;
      const elapsedMs = before ? totals.atMs - before.atMs : 0;
      const rate = (prev: number | null | undefined, curr: number | null) =>
        curr === null || prev === null ? 0 : counterRatePerSec(prev, curr, elapsedMs);
      const available = mem.available || mem.free;
      const loadAvg = loadavg();
      const temperatures: MachineSample['temperatures'] = [];
      if (temps) {
        if (Number.isFinite(temps.main) && temps.main > 0) temperatures.push({ sensor: 'cpu', celsius: temps.main });
        temps.cores.forEach((c, i) => Number.isFinite(c) && c > 0 && temperatures.push({ sensor: `core ${i}`, celsius: c }));
      }
      return {
        cpu: {
          totalPercent: load.currentLoad || 0,
          perCorePercent: load.cpus.map((c) => c.load || 0),
          userPercent: (load.currentLoadUser || 0) + (load.currentLoadNice || 0),
          systemPercent: (load.currentLoadSystem || 0) + (load.currentLoadIrq || 0),
          iowaitPercent: 0,
          stealPercent: load.currentLoadSteal || 0,
          coreCount: load.cpus.length,
        },
        memory: {
          totalBytes: mem.total,
          usedBytes: Math.max(0, mem.total - available),
          availableBytes: available,
          usedPercent: mem.total > 0 ? ((mem.total - available) / mem.total) * 100 : 0,
          swapTotalBytes: mem.swaptotal,
          swapUsedBytes: mem.swapused,
          swapPercent: mem.swaptotal > 0 ? (mem.swapused / mem.swaptotal) * 100 : 0,
        },
        load: { load1m: loadAvg[0], load5m: loadAvg[1], load15m: loadAvg[2] },
        filesystems: (fsList ?? [])
          .filter((f) => f.size > 0 && !SKIPPED_FS_TYPES.has(f.type))
          .map((f) => ({ mount: f.mount, device: f.fs, fsType: f.type, sizeBytes: f.size, usedBytes: f.used, usedPercent: Math.min(100, f.use || 0) })),
        disks:
          totals.readBytes === null
            ? []
            : [
                {
                  device: 'all',
                  readBytesPerSec: rate(before?.readBytes, totals.readBytes),
                  writeBytesPerSec: rate(before?.writeBytes, totals.writeBytes),
                  readOpsPerSec: rate(before?.readOps, totals.readOps),
                  writeOpsPerSec: rate(before?.writeOps, totals.writeOps),
                },
              ],
        network: [...totals.interfaces].map(([name, n]) => {
          const p = before?.interfaces.get(name);
          return {
            name,
            recvBytesPerSec: rate(p?.rx, n.rx),
            sentBytesPerSec: rate(p?.tx, n.tx),
            recvBytesTotal: n.rx,
            sentBytesTotal: n.tx,
            recvErrorsPerSec: rate(p?.rxErrors, n.rxErrors),
            sentErrorsPerSec: rate(p?.txErrors, n.txErrors),
          };
        }),
        processCount: processes?.all ?? 0,
        uptimeSeconds: uptime,
        temperatures,
      };
    },

    async describe(): Promise<MachineInfo> {
      const [osInfo, cpu] = await Promise.all([optional(si.osInfo()), optional(si.cpu())]);
      return {
        os: osInfo ? `${osInfo.distro} ${osInfo.release}`.trim() : process.platform,
        kernel: osInfo?.kernel || release(),
        arch: osInfo?.arch || arch(),
        cpuModel: cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : '',
      };
    },
  };
}
