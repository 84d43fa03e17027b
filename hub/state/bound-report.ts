// What current state keeps of a machine's latest report, bounded: a valid report may be ~1 MiB (1,000
// containers, 256 filesystems ... with 256-character names), and current state holds one per machine
// (memory or Redis), so at MAX_MACHINES the full reports alone could take gigabytes. The encoded copy
// kept for the detail view and per-mount disk rules is cut to STATE_REPORT_MAX_BYTES by halving its
// longest list (containers, temperatures, disks, interfaces, filesystems, per-core CPU, top processes,
// GPUs, disk health, services) until it fits,
// keeping the first entries in the collector's order; the report's own labels go first (the machine
// record keeps the merged labels anyway). History is not affected: it stores the headline metrics,
// computed from the full report before this. Pure.
import { toBinary } from '@bufbuild/protobuf';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';

/** Default cap of the latest report kept per machine (typical reports are 1–4 KiB). */
export const STATE_REPORT_MAX_BYTES = 32 * 1024;

const encode = (report: Report) => toBinary(ReportSchema, report, { writeUnknownFields: false });

type ListName = 'containers' | 'temperatures' | 'disks' | 'network' | 'filesystems' | 'perCore' | 'topProcesses' | 'gpus' | 'diskHealth' | 'services';

function lengths(r: Report): Record<ListName, number> {
  return {
    containers: r.containers.length,
    temperatures: r.temperatures.length,
    disks: r.disks.length,
    network: r.network.length,
    filesystems: r.filesystems.length,
    perCore: r.cpu?.perCorePercent.length ?? 0,
    topProcesses: r.topProcesses.length,
    gpus: r.gpus.length,
    diskHealth: r.diskHealth.length,
    services: r.services.length,
  };
}

/** The encoded report, trimmed to at most `maxBytes` when it is larger (`trimmed` then true). */
export function boundReportForState(report: Report, maxBytes = STATE_REPORT_MAX_BYTES): { bytes: Uint8Array; trimmed: boolean } {
  let bytes = encode(report);
  if (bytes.length <= maxBytes) return { bytes, trimmed: false };
  // A shallow copy: the caller's report (and its lists) stay whole.
  const copy: Report = { ...report, cpu: report.cpu && { ...report.cpu } };
  if (Object.keys(copy.labels).length > 0) {
    copy.labels = {};
    bytes = encode(copy);
  }
  while (bytes.length > maxBytes) {
    const counts = lengths(copy);
    const [longest, count] = (Object.entries(counts) as Array<[ListName, number]>).reduce((a, b) => (b[1] > a[1] ? b : a));
    if (count > 0) {
      const keep = Math.floor(count / 2);
      if (longest === 'perCore') copy.cpu!.perCorePercent = copy.cpu!.perCorePercent.slice(0, keep);
      else copy[longest] = copy[longest].slice(0, keep) as never;
    } else {
      break; // only bounded scalars and names are left
    }
    bytes = encode(copy);
  }
  return { bytes, trimmed: true };
}
