// Measurement, not a test: CPU time per sample of the /proc sampler vs the systeminformation sampler
// on this machine, including the CPU of child processes systeminformation spawns (from the cutime and
// cstime fields of /proc/self/stat, which count waited-for children). Linux only.
// Run: node test/collector/measure-sampler-cost.ts [samples]
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createProcSampler } from '../../collector/proc-sampler.ts';
import type { Sampler } from '../../collector/sampler.ts';
import { createSiSampler } from '../../collector/si-sampler.ts';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
}

async function measure(sampler: Sampler, samples: number) {
  await sampler.prime();
  await sampler.sample(); // warm up (module loading, discovery)
  const cpuBefore = process.cpuUsage();
  const childBefore = childrenCpuMs();
  const wallBefore = performance.now();
  for (let i = 0; i < samples; i++) await sampler.sample();
  const wallMs = performance.now() - wallBefore;
  const cpu = process.cpuUsage(cpuBefore);
  const childMs = childrenCpuMs() - childBefore;
  const selfMs = (cpu.user + cpu.system) / 1000;
  return {
    sampler: sampler.kind,
    samples,
    selfCpuMsPerSample: +(selfMs / samples).toFixed(2),
    childCpuMsPerSample: +(childMs / samples).toFixed(2),
    totalCpuMsPerSample: +((selfMs + childMs) / samples).toFixed(2),
    wallMsPerSample: +(wallMs / samples).toFixed(1),
  };
}

const samples = Number(process.argv[2] ?? 50);
const results = [await measure(createProcSampler(), samples), await measure(createSiSampler(), samples)];
console.table(results);
