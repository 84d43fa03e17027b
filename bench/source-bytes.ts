// Bytes each extra source adds to a report, measured in this process with the collector's own sources
// (collector/extra-sources.ts) reading the same fakes as bench:collector's collectors: one sample a
// second for `samples` seconds, each source's field encoded alone as a protobuf Report (the bytes it
// adds on the wire, before gRPC framing), averaged over every report (a report where a source is not
// due — top processes every 5 s — adds 0). The machine part of a report (the /proc sampler) for scale.
import { create, toBinary } from '@bufbuild/protobuf';
import { hostname } from 'node:os';
import { ReportSchema } from '../proto/gen/sysmonstm/v1/report_pb.js';
import { parseCollectorConfig } from '../collector/config.ts';
import { createExtraSources } from '../collector/extra-sources.ts';
import { createJsonLogger } from '../collector/log.ts';
import { createProcSampler } from '../collector/proc-sampler.ts';
import type { ExtraSample } from '../collector/sampler.ts';
import { SOURCES, sourceEnv, type SourceName, type VariantPaths } from './collector-variants.ts';

export interface SourceBytes {
  /** Mean bytes the source's field adds to a report, over every report. */
  bytesPerReport: Record<SourceName, number>;
  /** Reports (of `samples`) that carried the field. */
  reportsWith: Record<SourceName, number>;
  /** Mean bytes of a report's machine part (cpu, memory, filesystems, disks, network …). */
  machineBytesPerReport: number;
  samples: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function measureSourceBytes(paths: VariantPaths, samples: number): Promise<SourceBytes> {
  const env = sourceEnv(SOURCES, paths);
  const config = parseCollectorConfig(['--hub', 'http://127.0.0.1:1', '--interval', '1'], env, { hostname: hostname() });
  // The sources spawn nvidia-smi, smartctl and systemctl through PATH: the fakes, for as long as this runs.
  const savedPath = process.env.PATH;
  process.env.PATH = env.PATH;
  const log = createJsonLogger({ name: 'bench', level: 'error' });
  const sources = createExtraSources(config, { log });
  const sampler = createProcSampler(config.hostPaths);
  const total = Object.fromEntries(SOURCES.map((s) => [s, 0])) as Record<SourceName, number>;
  const carried = Object.fromEntries(SOURCES.map((s) => [s, 0])) as Record<SourceName, number>;
  let machineBytes = 0;
  try {
    await Promise.all([sources.start(), sampler.prime()]);
    const missing = SOURCES.filter((s) => !sources.active.includes(s));
    if (missing.length) throw new Error(`sources not found by the in-process measurement: ${missing.join(', ')}`);
    await sleep(1000);
    for (let i = 0; i < samples; i++) {
      const [machine, extra] = await Promise.all([sampler.sample(), sources.sample()]);
      machineBytes += toBinary(ReportSchema, create(ReportSchema, machine)).length;
      for (const name of SOURCES) {
        const value = (extra as ExtraSample)[name];
        if (value === undefined) continue;
        carried[name]++;
        total[name] += toBinary(ReportSchema, create(ReportSchema, { [name]: value })).length;
      }
      await sleep(1000);
    }
  } finally {
    await sources.close();
    process.env.PATH = savedPath;
  }
  return {
    bytesPerReport: Object.fromEntries(SOURCES.map((s) => [s, total[s] / samples])) as Record<SourceName, number>,
    reportsWith: carried,
    machineBytesPerReport: machineBytes / samples,
    samples,
  };
}
