// What a machine id may be: 1..128 characters of A-Z a-z 0-9 . _ - (safe in a URL path, a Redis key, a
// file name and a log line without escaping). The one definition: the collector checks its MACHINE_ID
// with it, the hub every Hello, report and REST parameter, the edge its routes and frames, the
// dashboard its links.
export const MACHINE_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** The rule as error messages state it: `machine id ${MACHINE_ID_RULE}`. */
export const MACHINE_ID_RULE = 'must match [A-Za-z0-9._-]{1,128}';

export function isMachineId(v: unknown): v is string {
  return typeof v === 'string' && MACHINE_ID_PATTERN.test(v);
}
