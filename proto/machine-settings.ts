// What the owner sets per machine: GET/PUT /api/machines/{id}/settings on the hub, sent to the
// collector as the `Settings` of IngestService (ingest.proto). One shape and one rule, read by the
// hub's API, its store and the dashboard's control.

/** The bounds of a report interval, the collector's own (COLLECTION_INTERVAL 0.1 .. 3600 s). */
export const REPORT_INTERVAL_MIN_MS = 100;
export const REPORT_INTERVAL_MAX_MS = 3_600_000;

/** The JSON of GET and PUT /api/machines/{id}/settings. `intervalMs` 0: the collector's own interval. */
export interface MachineSettingsJson {
  intervalMs: number;
}

/** Why `intervalMs` is not acceptable, or undefined (pure). 0 means "the collector's own". */
export function intervalProblem(intervalMs: unknown): string | undefined {
  if (typeof intervalMs !== 'number' || !Number.isInteger(intervalMs)) return 'intervalMs must be an integer number of milliseconds';
  if (intervalMs === 0) return undefined;
  if (intervalMs < REPORT_INTERVAL_MIN_MS || intervalMs > REPORT_INTERVAL_MAX_MS) {
    return `intervalMs must be 0 (the collector's own interval) or between ${REPORT_INTERVAL_MIN_MS} and ${REPORT_INTERVAL_MAX_MS}`;
  }
  return undefined;
}

/** A PUT body → settings, or the reason it is refused (pure). Unknown fields are refused. */
export function parseMachineSettings(body: unknown): { ok: true; settings: MachineSettingsJson } | { ok: false; error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'the body must be a JSON object {"intervalMs": N}' };
  const extra = Object.keys(body).filter((k) => k !== 'intervalMs');
  if (extra.length > 0) return { ok: false, error: `unknown field "${extra[0]}" (only intervalMs)` };
  const { intervalMs } = body as { intervalMs?: unknown };
  if (intervalMs === undefined) return { ok: false, error: 'intervalMs is required' };
  const problem = intervalProblem(intervalMs);
  return problem ? { ok: false, error: problem } : { ok: true, settings: { intervalMs: intervalMs as number } };
}
