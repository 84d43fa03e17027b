// States of the systemd units matching SERVICE_PATTERNS: one `systemctl list-units` and one
// `systemctl show` every SERVICE_INTERVAL (two short processes per batch, however many units), the
// latest states in every report. Detected at start: without a running systemd the source is off.
import type { Logger } from './log.ts';
import { compareCodeUnits } from './proc-parsers.ts';
import { runCommand } from './run-command.ts';
import type { ServiceSample } from './sampler.ts';
import { parseListUnits, parseShowUnits } from './systemd-parsers.ts';

export const MAX_SERVICES = 1000;
const PROPERTIES = 'Id,ActiveState,SubState,NRestarts,MemoryCurrent';

export interface ServiceSource {
  /** The latest states; a new batch is started when SERVICE_INTERVAL has passed (never waited for). */
  sample(): ServiceSample[] | undefined;
}

async function readServices(patterns: readonly string[]): Promise<ServiceSample[]> {
  const list = await runCommand('systemctl', ['list-units', '--all', '--plain', '--no-legend', '--no-pager', '--', ...patterns]);
  if (list.code !== 0) throw new Error(`systemctl list-units: ${(list.stderr || list.stdout).trim().slice(0, 200)}`);
  const names = [...new Set(parseListUnits(list.stdout))].slice(0, MAX_SERVICES);
  if (names.length === 0) return [];
  const show = await runCommand('systemctl', ['show', `--property=${PROPERTIES}`, '--no-pager', '--', ...names]);
  if (show.code !== 0) throw new Error(`systemctl show: ${(show.stderr || show.stdout).trim().slice(0, 200)}`);
  return parseShowUnits(show.stdout).sort((a, b) => compareCodeUnits(a.name, b.name));
}

/** null when systemctl is missing or systemd is not running (logged once by the caller). */
export async function detectServiceSource(options: { patterns: readonly string[]; intervalMs: number; log: Logger; now?: () => number }): Promise<{ source: ServiceSource; count: number } | { problem: string }> {
  const now = options.now ?? Date.now;
  let latest: ServiceSample[];
  try {
    latest = await readServices(options.patterns);
  } catch (err) {
    return { problem: (err as Error).message };
  }
  let readAtMs = now();
  let running: Promise<void> | undefined;
  let failing = false;
  const source: ServiceSource = {
    sample() {
      if (!running && now() - readAtMs >= options.intervalMs) {
        readAtMs = now();
        running = readServices(options.patterns)
          .then((services) => {
            latest = services;
            if (failing) options.log.info('services: systemctl answers again');
            failing = false;
          })
          .catch((err: unknown) => {
            if (!failing) options.log.warn({ err: (err as Error).message }, 'services: systemctl failed; the last states are kept');
            failing = true;
          })
          .finally(() => (running = undefined));
      }
      return latest;
    },
  };
  return { source, count: latest.length };
}
