// Pure pieces of the GPU source: the CSV lines of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`
// and the AMD amdgpu sysfs values.
import type { GpuSample } from './sampler.ts';

/** The columns asked of nvidia-smi, in this order. */
export const NVIDIA_QUERY = 'index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw';

const MiB = 1024 * 1024;

/** "[N/A]", "[Not Supported]" and empty fields are absent values. */
function field(text: string | undefined): number | null {
  const v = (text ?? '').trim();
  if (v === '' || v.startsWith('[')) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** One line of the query: "0, NVIDIA GeForce RTX 3060, 35, 1024, 12288, 61, 80.52". null when it is not one. */
export function parseNvidiaSmiLine(line: string): GpuSample | null {
  // The name may hold commas only in theory; it is the second column, the five numbers are the last.
  const parts = line.split(',');
  if (parts.length < 7) return null;
  const numbers = parts.slice(-5);
  const index = field(parts[0]);
  if (index === null || !Number.isInteger(index) || index < 0) return null;
  const temperature = field(numbers[3]);
  return {
    vendor: 'nvidia',
    index,
    name: parts.slice(1, -5).join(',').trim().slice(0, 256),
    utilizationPercent: Math.min(100, Math.max(0, field(numbers[0]) ?? 0)),
    memoryUsedBytes: Math.max(0, field(numbers[1]) ?? 0) * MiB,
    memoryTotalBytes: Math.max(0, field(numbers[2]) ?? 0) * MiB,
    temperatureCelsius: temperature ?? 0,
    hasTemperature: temperature !== null,
    powerWatts: Math.max(0, field(numbers[4]) ?? 0),
  };
}

/** An amdgpu card from its sysfs values (text of each file, null where missing). */
export function amdGpuFromSysfs(index: number, name: string, files: { busyPercent: string | null; vramUsed: string | null; vramTotal: string | null; tempMillidegrees: string | null; powerMicrowatts: string | null }): GpuSample | null {
  const busy = field(files.busyPercent ?? undefined);
  if (busy === null) return null;
  const temp = field(files.tempMillidegrees ?? undefined);
  return {
    vendor: 'amd',
    index,
    name: name.slice(0, 256),
    utilizationPercent: Math.min(100, Math.max(0, busy)),
    memoryUsedBytes: Math.max(0, field(files.vramUsed ?? undefined) ?? 0),
    memoryTotalBytes: Math.max(0, field(files.vramTotal ?? undefined) ?? 0),
    temperatureCelsius: temp === null ? 0 : temp / 1000,
    hasTemperature: temp !== null,
    powerWatts: Math.max(0, field(files.powerMicrowatts ?? undefined) ?? 0) / 1e6,
  };
}
