// The collector configurations bench:collector runs side by side (pure: the bench starts them).
//   part "options": every source on, under each set of Node/V8 options measured;
//   part "sources": the options the launcher applies (bin/collector-node-options.js), every extra
//   source off, each source on alone, and every source on — what each source costs.
// `sysmonstm collector` re-executes node with COLLECTOR_NODE_OPTIONS unless node was given options of
// its own, so "no options" runs node with --no-warnings (which changes nothing measured) to keep it as is.
import { COLLECTOR_NODE_OPTIONS } from '../bin/collector-node-options.js';

export const SOURCES = ['containers', 'topProcesses', 'gpus', 'diskHealth', 'services'] as const;
export type SourceName = (typeof SOURCES)[number];

export interface CollectorVariant {
  label: string;
  part: 'options' | 'sources';
  /** Options on node's command line; empty: `sysmonstm collector` as users start it (the launcher adds its own). */
  nodeArgs: string[];
  env: Record<string, string>;
  /** The extra sources this variant has on. */
  sources: SourceName[];
}

export interface VariantPaths {
  /** The fake Docker Engine API socket. */
  engineSocket: string;
  /** A path with no socket: the container source stays off (and no real engine of the machine is read). */
  absentSocket: string;
  /** Fake nvidia-smi, smartctl and systemctl. */
  fakeBin: string;
  /** Fake smartctl and systemctl only (no GPU). */
  noGpuBin: string;
  /** The PATH the fakes go in front of. */
  path: string;
}

/** The environment that turns on exactly `sources`. */
export function sourceEnv(sources: readonly SourceName[], p: VariantPaths): Record<string, string> {
  const on = new Set(sources);
  return {
    DOCKER_HOST: `unix://${on.has('containers') ? p.engineSocket : p.absentSocket}`,
    TOP_PROCESSES: on.has('topProcesses') ? '10' : '0',
    TOP_PROCESSES_INTERVAL: '5',
    SMART_INTERVAL: on.has('diskHealth') ? '3600' : '0',
    SERVICE_PATTERNS: on.has('services') ? 'nginx*,postgres*' : '',
    PATH: `${on.has('gpus') ? p.fakeBin : p.noGpuBin}:${p.path}`,
  };
}

const NO_OPTIONS = ['--no-warnings'];
const LEAN = [...COLLECTOR_NODE_OPTIONS];

export function collectorVariants(part: unknown, p: VariantPaths): CollectorVariant[] {
  const every = [...SOURCES];
  const options: CollectorVariant[] = [
    { label: 'every source, no V8 options', nodeArgs: NO_OPTIONS, sources: every },
    { label: 'every source, --max-semi-space-size=1', nodeArgs: ['--max-semi-space-size=1'], sources: every },
    { label: 'every source, --single-threaded', nodeArgs: ['--single-threaded'], sources: every },
    { label: 'every source, --no-opt', nodeArgs: ['--no-opt'], sources: every },
    { label: 'every source, --max-semi-space-size=1 --single-threaded --no-opt', nodeArgs: ['--max-semi-space-size=1', '--single-threaded', '--no-opt'], sources: every },
    { label: `every source, ${LEAN.join(' ')}`, nodeArgs: LEAN, sources: every },
    { label: 'every source, those + --max-old-space-size=16', nodeArgs: [...LEAN, '--max-old-space-size=16'], sources: every },
    { label: 'every source, those + --optimize-for-size', nodeArgs: [...LEAN, '--optimize-for-size'], sources: every },
    { label: 'no extra sources, no V8 options', nodeArgs: NO_OPTIONS, sources: [] },
  ].map((v) => ({ ...v, part: 'options' as const, env: sourceEnv(v.sources, p) }));
  const shipped = (label: string, sources: SourceName[]): CollectorVariant => ({ label, part: 'sources', nodeArgs: [], sources, env: sourceEnv(sources, p) });
  const sources: CollectorVariant[] = [
    shipped('as shipped, every extra source off', []),
    ...SOURCES.map((s) => shipped(`as shipped, ${s} alone`, [s])),
    shipped('as shipped, every source on', every),
  ];
  if (part === 'options') return options;
  if (part === 'sources') return sources;
  return [...options, ...sources];
}
