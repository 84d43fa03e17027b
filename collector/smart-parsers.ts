// Pure pieces of the disk health source: `smartctl -j --scan` and `smartctl -j -a` (JSON output of
// smartmontools 7+) for ATA/SATA and NVMe disks.
import type { DiskHealthSample } from './sampler.ts';

export interface ScannedDisk {
  name: string;
  type: string;
}

export function parseSmartScan(text: string): ScannedDisk[] {
  try {
    const json = JSON.parse(text) as { devices?: Array<{ name?: unknown; type?: unknown }> };
    return (json.devices ?? [])
      .filter((d): d is { name: string; type: string } => typeof d.name === 'string' && typeof d.type === 'string' && /^\/dev\/[A-Za-z0-9/_-]+$/.test(d.name) && /^[a-z0-9,_-]+$/.test(d.type))
      .map((d) => ({ name: d.name, type: d.type }));
  } catch {
    return [];
  }
}

interface SmartJson {
  smartctl?: { exit_status?: number; messages?: Array<{ string?: string; severity?: string }> };
  device?: { name?: string };
  model_name?: string;
  smart_status?: { passed?: boolean };
  temperature?: { current?: number };
  power_on_time?: { hours?: number };
  ata_smart_attributes?: { table?: Array<{ id?: number; raw?: { value?: number } }> };
  nvme_smart_health_information_log?: { percentage_used?: number; temperature?: number; power_on_hours?: number; media_errors?: number };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/**
 * One disk's health, or a reason when smartctl could not read it (permission, standby, no SMART).
 * The ATA attributes read: 5 Reallocated_Sector_Ct, 197 Current_Pending_Sector.
 */
export function parseSmartAll(text: string, device: string, checkedAtMs: number): DiskHealthSample | { problem: string } {
  let json: SmartJson;
  try {
    json = JSON.parse(text) as SmartJson;
  } catch {
    return { problem: 'smartctl printed no JSON' };
  }
  if (json.smart_status?.passed === undefined) {
    const message = json.smartctl?.messages?.map((m) => m.string).filter(Boolean).join('; ');
    return { problem: message || 'no SMART status' };
  }
  const attribute = (id: number) => num(json.ata_smart_attributes?.table?.find((a) => a.id === id)?.raw?.value);
  const nvme = json.nvme_smart_health_information_log;
  return {
    device,
    model: (json.model_name ?? '').trim().slice(0, 256),
    passed: json.smart_status.passed,
    temperatureCelsius: num(json.temperature?.current ?? nvme?.temperature),
    powerOnHours: num(json.power_on_time?.hours ?? nvme?.power_on_hours),
    reallocatedSectors: attribute(5),
    pendingSectors: attribute(197),
    percentageUsed: num(nvme?.percentage_used),
    checkedAtMs: BigInt(Math.round(checkedAtMs)),
  };
}
