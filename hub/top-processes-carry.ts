// Collectors send the top processes only every TOP_PROCESSES_INTERVAL (at most 60 s) to keep reports
// small; the current state shows the latest ones meanwhile. Per collector stream, the latest list is
// kept and put into the reports without one for at most TOP_PROCESSES_SHOWN_FOR_MS after it was
// sampled, so a collector that stops sending them (TOP_PROCESSES=0) shows none soon after. Pure.
import type { ProcessInfo, Report } from '../proto/gen/sysmonstm/v1/report_pb.js';

/** The collector's longest TOP_PROCESSES_INTERVAL (collector/config.ts) plus slack for a late report. */
export const TOP_PROCESSES_SHOWN_FOR_MS = 65_000;

export interface TopProcessesCarry {
  processes: ProcessInfo[];
  sampledAtMs: number;
}

/** Fills `report.topProcesses` from `carry` when it has none; returns the carry for the next report. */
export function carryTopProcesses(carry: TopProcessesCarry | undefined, report: Report): TopProcessesCarry | undefined {
  const timeMs = Number(report.timestampMs);
  if (report.topProcesses.length > 0) return { processes: report.topProcesses, sampledAtMs: timeMs };
  if (!carry || timeMs - carry.sampledAtMs > TOP_PROCESSES_SHOWN_FOR_MS || timeMs < carry.sampledAtMs) return undefined;
  report.topProcesses = carry.processes;
  return carry;
}
