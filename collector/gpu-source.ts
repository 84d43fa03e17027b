// GPUs. NVIDIA: one long-running `nvidia-smi --query-gpu=… -l N` child whose lines are parsed as they
// come (no process per interval); restarted with a back-off if it exits. AMD: the amdgpu sysfs files of
// each card (gpu_busy_percent, mem_info_vram_used/total, hwmon temp1_input and power1_average), a few
// small reads per sample.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { amdGpuFromSysfs, NVIDIA_QUERY, parseNvidiaSmiLine } from './gpu-parsers.ts';
import type { Logger } from './log.ts';
import type { GpuSample } from './sampler.ts';

export interface GpuSource {
  readonly kinds: readonly string[];
  sample(): GpuSample[];
  close(): void;
}

function readSmall(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

interface AmdCard {
  index: number;
  name: string;
  device: string;
  hwmon: string | null;
}

function findAmdCards(sysDir: string): AmdCard[] {
  const cards: AmdCard[] = [];
  for (const card of list(`${sysDir}/class/drm`).filter((c) => /^card\d+$/.test(c)).sort()) {
    const device = `${sysDir}/class/drm/${card}/device`;
    if ((readSmall(`${device}/vendor`) ?? '').trim() !== '0x1002' || readSmall(`${device}/gpu_busy_percent`) === null) continue;
    const hwmon = list(`${device}/hwmon`).find((h) => h.startsWith('hwmon'));
    const name = (readSmall(`${device}/product_name`) ?? '').trim() || `AMD ${card}`;
    cards.push({ index: cards.length, name, device, hwmon: hwmon ? `${device}/hwmon/${hwmon}` : null });
  }
  return cards;
}

interface NvidiaReader {
  latest: Map<number, { gpu: GpuSample; atMs: number }>;
  close(): void;
}

/** Starts the nvidia-smi child; resolves null when nvidia-smi is not installed or prints no GPU. */
function startNvidiaSmi(intervalSec: number, log: Logger, now: () => number): Promise<NvidiaReader | null> {
  const latest = new Map<number, { gpu: GpuSample; atMs: number }>();
  let child: ChildProcess | undefined;
  let closed = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let restartDelayMs = 5000;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (value: NvidiaReader | null) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    const reader: NvidiaReader = {
      latest,
      close() {
        closed = true;
        clearTimeout(restartTimer);
        child?.kill();
      },
    };
    const start = () => {
      const c = spawn('nvidia-smi', [`--query-gpu=${NVIDIA_QUERY}`, '--format=csv,noheader,nounits', '-l', String(intervalSec)], { stdio: ['ignore', 'pipe', 'ignore'] });
      child = c;
      c.on('error', () => settle(null)); // ENOENT: no NVIDIA driver
      createInterface({ input: c.stdout! }).on('line', (line) => {
        const gpu = parseNvidiaSmiLine(line);
        if (!gpu) return;
        latest.set(gpu.index, { gpu, atMs: now() });
        restartDelayMs = 5000;
        settle(reader);
      });
      c.on('exit', (code) => {
        if (!settled) return settle(null); // exited before any GPU line: nothing to read
        if (closed) return;
        log.warn({ code, retryInMs: restartDelayMs }, 'GPUs: nvidia-smi exited; starting it again');
        restartTimer = setTimeout(start, restartDelayMs);
        restartTimer.unref();
        restartDelayMs = Math.min(restartDelayMs * 2, 300_000);
      });
    };
    start();
    // A driver that hangs at start is treated as absent.
    setTimeout(() => {
      if (!settled) {
        child?.kill();
        settle(null);
      }
    }, 15_000).unref();
  });
}

export async function detectGpuSource(options: { sysDir: string; intervalMs: number; log: Logger; now?: () => number }): Promise<GpuSource | null> {
  const now = options.now ?? Date.now;
  const intervalSec = Math.max(1, Math.round(options.intervalMs / 1000));
  const [nvidia, amd] = await Promise.all([startNvidiaSmi(intervalSec, options.log, now), Promise.resolve(findAmdCards(options.sysDir))]);
  if (!nvidia && amd.length === 0) return null;
  const kinds = [...(nvidia ? [`nvidia (${nvidia.latest.size})`] : []), ...(amd.length ? [`amd (${amd.length})`] : [])];
  return {
    kinds,
    sample() {
      const out: GpuSample[] = [];
      if (nvidia) {
        // A value older than three of nvidia-smi's periods is stale (the child is stuck or restarting).
        const fresh = now() - 3 * intervalSec * 1000 - 1000;
        for (const { gpu, atMs } of [...nvidia.latest.values()].sort((a, b) => a.gpu.index - b.gpu.index)) if (atMs >= fresh) out.push(gpu);
      }
      for (const card of amd) {
        const gpu = amdGpuFromSysfs(card.index, card.name, {
          busyPercent: readSmall(`${card.device}/gpu_busy_percent`),
          vramUsed: readSmall(`${card.device}/mem_info_vram_used`),
          vramTotal: readSmall(`${card.device}/mem_info_vram_total`),
          tempMillidegrees: card.hwmon ? readSmall(`${card.hwmon}/temp1_input`) : null,
          powerMicrowatts: card.hwmon ? (readSmall(`${card.hwmon}/power1_average`) ?? readSmall(`${card.hwmon}/power1_input`)) : null,
        });
        if (gpu) out.push(gpu);
      }
      return out;
    },
    close() {
      nvidia?.close();
    },
  };
}
