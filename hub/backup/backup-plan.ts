// Scheduled backups, the pure part: how a backup file is named (the time is in the name, so the
// directory listing is the catalogue), which files pruning removes, and how long to wait before the
// next run. No clock and no file system in here; table-tested in test/hub/backup/backup-plan.test.ts.

/** `pg_dump`: a TIMESCALE_URL database in pg_dump's custom format. `pglite`: the embedded data directory as a tarball. */
export type BackupKind = 'pg_dump' | 'pglite';

export const BACKUP_EXTENSION: Readonly<Record<BackupKind, string>> = Object.freeze({ pg_dump: '.dump', pglite: '.tar.gz' });

const PREFIX = 'sysmonstm-';
const NAME_PATTERN = /^sysmonstm-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(\.dump|\.tar\.gz)$/;

export interface BackupFile {
  name: string;
  atMs: number;
  kind: BackupKind;
}

/** `sysmonstm-20250102T030405Z.dump`: UTC, sortable, no characters any file system refuses. */
export function backupFileName(kind: BackupKind, atMs: number): string {
  const iso = new Date(Math.floor(atMs / 1000) * 1000).toISOString(); // 2025-01-02T03:04:05.000Z
  const stamp = iso.slice(0, 19).replaceAll('-', '').replaceAll(':', '');
  return `${PREFIX}${stamp}Z${BACKUP_EXTENSION[kind]}`;
}

/** The file's time and kind, or undefined for anything that is not a finished backup of ours. */
export function parseBackupFileName(name: string): BackupFile | undefined {
  const m = NAME_PATTERN.exec(name);
  if (!m) return undefined;
  const atMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(atMs) || backupFileName(m[7] === '.dump' ? 'pg_dump' : 'pglite', atMs) !== name) return undefined; // 20251399T…
  return { name, atMs, kind: m[7] === '.dump' ? 'pg_dump' : 'pglite' };
}

/** Our finished backups among `names`, newest first. Other files are never touched. */
export function listBackups(names: Iterable<string>): BackupFile[] {
  const found: BackupFile[] = [];
  for (const name of names) {
    const file = parseBackupFileName(name);
    if (file) found.push(file);
  }
  return found.sort((a, b) => b.atMs - a.atMs || (a.name < b.name ? 1 : -1));
}

/** Names to delete so that the newest `keep` backups remain (of either kind, counted together). */
export function backupsToPrune(names: Iterable<string>, keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer, got ${keep}`);
  return listBackups(names)
    .slice(keep)
    .map((f) => f.name);
}

/** The temporary name a backup is written under before the rename makes it a finished backup. */
export function partialFileName(finalName: string): string {
  return `.${finalName}.partial`;
}

/** Leftovers of an interrupted backup (the process died while writing). */
export function isPartialFileName(name: string): boolean {
  return name.startsWith(`.${PREFIX}`) && name.endsWith('.partial');
}

/**
 * Milliseconds until the next backup. A backup is due `intervalMs` after the newest one; when that
 * is already past (or there is none) it runs after `minDelayMs`, so a starting hub is not slowed by
 * a dump, and a hub that restarts often does not take one per start.
 */
export function nextBackupDelayMs(intervalMs: number, newestAtMs: number | undefined, nowMs: number, minDelayMs: number): number {
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
  if (newestAtMs === undefined) return minDelayMs;
  const dueInMs = newestAtMs + intervalMs - nowMs;
  // A backup "from the future" (the clock went back) must not postpone backups by more than one interval.
  return Math.max(minDelayMs, Math.min(dueInMs, intervalMs));
}
