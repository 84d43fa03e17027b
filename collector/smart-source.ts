// Disk health from smartmontools: `smartctl -j --scan` once at start for the disks, then
// `smartctl -j -a -n standby` per disk every SMART_INTERVAL, one disk after the other, in the
// background. A disk in standby is not woken: its previous result stays. The latest result of every
// disk goes into every report (a few numbers per disk).
import type { Logger } from './log.ts';
import { runCommand } from './run-command.ts';
import type { DiskHealthSample } from './sampler.ts';
import { parseSmartAll, parseSmartScan, type ScannedDisk } from './smart-parsers.ts';

export const MAX_SMART_DISKS = 256;

export interface SmartSource {
  readonly disks: readonly ScannedDisk[];
  sample(): DiskHealthSample[];
}

export async function detectSmartSource(options: { intervalMs: number; log: Logger; now?: () => number }): Promise<SmartSource | null> {
  const now = options.now ?? Date.now;
  let disks: ScannedDisk[];
  try {
    const scan = await runCommand('smartctl', ['-j', '--scan'], { timeoutMs: 15_000 });
    disks = parseSmartScan(scan.stdout).slice(0, MAX_SMART_DISKS);
  } catch {
    return null; // not installed
  }
  if (disks.length === 0) return null;
  const latest = new Map<string, DiskHealthSample>();
  const problems = new Map<string, string>();
  let checkedAtMs = -Infinity;
  let running: Promise<void> | undefined;

  async function checkAll(): Promise<void> {
    for (const disk of disks) {
      let result: DiskHealthSample | { problem: string };
      try {
        const r = await runCommand('smartctl', ['-j', '-a', '-n', 'standby', '-d', disk.type, disk.name], { timeoutMs: 60_000 });
        result = parseSmartAll(r.stdout, disk.name, now());
      } catch (err) {
        result = { problem: (err as Error).message };
      }
      if ('problem' in result) {
        // Logged when it first appears or changes, not at every run.
        if (problems.get(disk.name) !== result.problem) options.log.warn({ device: disk.name, problem: result.problem }, `disk health: cannot read ${disk.name}`);
        problems.set(disk.name, result.problem);
      } else {
        problems.delete(disk.name);
        latest.set(disk.name, result);
      }
    }
  }

  const source: SmartSource = {
    disks,
    sample() {
      if (!running && now() - checkedAtMs >= options.intervalMs) {
        checkedAtMs = now();
        running = checkAll().finally(() => (running = undefined));
      }
      return disks.map((d) => latest.get(d.name)).filter((d): d is DiskHealthSample => d !== undefined);
    },
  };
  source.sample(); // the first check starts now, in the background
  return source;
}
