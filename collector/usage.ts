// `sysmonstm collector --help`: every flag the collector accepts (COLLECTOR_FLAGS and --label), with
// its variable, value and a one-line meaning. Pure text, no dependency: the collector stays small.
import { COLLECTOR_FLAGS } from './config.ts';

/** flag → [value placeholder, one-line meaning]. */
const COLLECTOR_OPTION_HELP: Readonly<Record<string, readonly [string, string]>> = {
  hub: ['URL', "the hub's gRPC address (default http://127.0.0.1:50051; https:// for TLS)"],
  id: ['ID', 'stable machine id, A-Z a-z 0-9 . _ - (default: from the hostname)'],
  name: ['NAME', 'display name (default: the hostname)'],
  label: ['KEY=VALUE', 'a free-form label; repeatable, added to LABELS'],
  interval: ['SECONDS', 'between samples (default 1; fractions work)'],
  'data-dir': ['DIR', 'sequence file and report spool; keep it across restarts (default ./data)'],
  token: ['TOKEN', "sent to the hub: its COLLECTOR_TOKEN or this machine's token"],
  'hub-ca': ['FILE', 'PEM CA or self-signed certificate to trust for an https:// hub'],
  'buffer-capacity': ['N', 'unacked reports kept in memory (default 3600)'],
  'buffer-max-bytes': ['BYTES', 'bound of the on-disk report spool (default 256 MiB; 0: memory only)'],
  'buffer-fsync-interval': ['SECONDS', 'longest wait of a spooled report for fsync (default 1)'],
  sampler: ['NAME', 'auto, proc or systeminformation (default auto)'],
  'host-proc': ['DIR', "where the host's /proc is visible (default /proc)"],
  'host-sys': ['DIR', "where the host's /sys is visible (default /sys)"],
  'host-root': ['DIR', "where the host's root file system is visible (default /)"],
  'docker-host': ['URL', 'unix:// socket of the Docker or Podman API (default: the usual sockets)'],
  'top-processes': ['N', 'top processes by CPU and memory in the report (default 10; 0: off)'],
  'top-processes-interval': ['SECONDS', 'between readings of the top processes (default 5)'],
  'smart-interval': ['SECONDS', 'between smartctl runs per disk (default 3600; 0: off)'],
  services: ['PATTERNS', 'systemd units to report, comma-separated globs like nginx*'],
  'service-interval': ['SECONDS', "between reads of the services' states (default 30)"],
  'log-level': ['LEVEL', 'fatal, error, warn, info, debug, trace or silent (default info)'],
  'log-format': ['FORMAT', 'pretty or json (default: pretty on a terminal, json otherwise)'],
};

export interface CollectorOptionLine {
  readonly flag: string;
  readonly variable: string;
  readonly meaning: string;
}

export function collectorOptions(): CollectorOptionLine[] {
  const flags = ['hub', 'id', 'name', 'label', ...Object.keys(COLLECTOR_FLAGS).filter((f) => !['hub', 'id', 'name'].includes(f))];
  return flags.map((flag) => {
    const [value, meaning] = COLLECTOR_OPTION_HELP[flag] ?? ['VALUE', 'see docs/configuration.md'];
    return { flag: `--${flag} ${value}`, variable: flag === 'label' ? 'LABELS' : COLLECTOR_FLAGS[flag], meaning };
  });
}

export function collectorHelp(): string {
  const lines = [...collectorOptions(), { flag: '-h, --help', variable: '', meaning: 'this help' }];
  const flagWidth = Math.max(...lines.map((o) => o.flag.length));
  const variableWidth = Math.max(...lines.map((o) => o.variable.length));
  return [
    'Usage: sysmonstm collector [OPTIONS]',
    '',
    "Streams this machine's metrics to a hub over gRPC; reports wait on disk while the hub is away.",
    '',
    'Options (each also an environment variable; a flag wins over its variable):',
    ...lines.map((o) => `  ${o.flag.padEnd(flagWidth)}  ${o.variable.padEnd(variableWidth)}  ${o.meaning}`.trimEnd()),
    '',
    'Every setting: docs/configuration.md.',
  ].join('\n');
}
