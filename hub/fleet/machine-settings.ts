// Per-machine settings the owner sets (today: the report interval), in SQL so they survive restarts and
// every hub replica on the database reads the same (schema/0006_machine_settings.sql). The ingest
// service asks `intervalFor` at every hello (the Welcome's Settings); a PUT stores the row and pushes
// the new Settings to the machine's live stream, on this hub or, through Redis, on the replica that
// holds it (settings-fanout.ts). When the database cannot be read, the last value this hub read or
// wrote is used, so a database outage never stops a collector from connecting.
import type { SqlExecutor } from '../db.ts';
import type { MachineSettingsJson } from '../../proto/machine-settings.ts';
import type { Logger } from '../log.ts';

export interface MachineSettingsStore {
  /** The stored settings, or the default `{intervalMs: 0}` (the collector's own). */
  get(machineId: string): Promise<MachineSettingsJson>;
  put(machineId: string, settings: MachineSettingsJson): Promise<void>;
  /** For the Welcome: never throws (falls back to what this hub last saw, else 0). */
  intervalFor(machineId: string): Promise<number>;
}

export function createMachineSettingsStore(db: SqlExecutor, log: Logger): MachineSettingsStore {
  const known = new Map<string, number>();
  async function read(machineId: string): Promise<MachineSettingsJson> {
    const { rows } = await db.query<{ interval_ms: number }>('SELECT interval_ms FROM machine_settings WHERE machine_id = $1', [machineId]);
    const intervalMs = rows.length > 0 ? Number(rows[0].interval_ms) : 0;
    known.set(machineId, intervalMs);
    return { intervalMs };
  }
  return {
    get: read,
    async put(machineId, settings) {
      await db.query(
        `INSERT INTO machine_settings (machine_id, interval_ms) VALUES ($1, $2)
         ON CONFLICT (machine_id) DO UPDATE SET interval_ms = EXCLUDED.interval_ms, updated_at = now()`,
        [machineId, settings.intervalMs],
      );
      known.set(machineId, settings.intervalMs);
    },
    async intervalFor(machineId) {
      try {
        return (await read(machineId)).intervalMs;
      } catch (err) {
        log.warn({ err: (err as Error).message, machine: machineId }, 'machine settings unreadable; the last known interval is sent');
        return known.get(machineId) ?? 0;
      }
    },
  };
}
