// Scheduled backups: the pure plan (names, pruning, when the next one is due, durations in config),
// then the scheduler on real files with a small file-writing target — atomic rename, pruning to
// BACKUP_KEEP, leftovers of an interrupted run removed, failures counted and retried, never thrown.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  backupFileName,
  backupsToPrune,
  isPartialFileName,
  listBackups,
  nextBackupDelayMs,
  parseBackupFileName,
  partialFileName,
} from '../../../hub/backup/backup-plan.ts';
import { createBackupScheduler, type BackupScheduler } from '../../../hub/backup/backup-scheduler.ts';
import { pgDumpInvocation, type BackupTarget } from '../../../hub/backup/backup-targets.ts';
import { parseHubConfig } from '../../../hub/config.ts';
import { formatDuration, parseDurationSeconds } from '../../../hub/duration.ts';
import { captureLog } from '../../support/test-log.ts';
import { tempDir, waitFor } from '../../support/servers.ts';

const T = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const HOUR = 3_600_000;

describe('durations', () => {
  test.each([
    ['0', 0],
    ['90', 90],
    ['0.5', 0.5],
    ['30s', 30],
    ['15m', 900],
    ['6h', 21_600],
    ['1d', 86_400],
    ['2w', 1_209_600],
    [' 12H ', 43_200],
    ['', undefined],
    ['h', undefined],
    ['-1h', undefined],
    ['1h30m', undefined],
    ['soon', undefined],
    ['1e3', undefined],
  ])('%j → %j seconds', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  test.each([
    [86_400, '1d'],
    [21_600, '6h'],
    [90, '90s'],
    [120, '2m'],
    [604_800, '1w'],
  ])('%d s reads as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
    expect(parseDurationSeconds(text)).toBe(seconds);
  });
});

describe('hub config: BACKUP_*', () => {
  test('off by default, into DATA_DIR/backups, 7 kept', () => {
    expect(parseHubConfig([], { DATA_DIR: '/srv/hub' }).backup).toEqual({ intervalMs: 0, dir: '/srv/hub/backups', keep: 7 });
  });
  test('env and flags', () => {
    expect(parseHubConfig(['--backup-keep', '3'], { BACKUP_INTERVAL: '6h', BACKUP_DIR: '/b' }).backup).toEqual({ intervalMs: 21_600_000, dir: '/b', keep: 3 });
    expect(parseHubConfig(['--backup-interval=1d'], { BACKUP_INTERVAL: '' }).backup.intervalMs).toBe(86_400_000);
    expect(parseHubConfig([], { BACKUP_INTERVAL: '' }).backup.intervalMs).toBe(0);
  });
  test.each([
    [{ BACKUP_INTERVAL: 'daily' }, /BACKUP_INTERVAL: must be 0 \(off\) or a duration/],
    [{ BACKUP_INTERVAL: '0.5' }, /BACKUP_INTERVAL/],
    [{ BACKUP_INTERVAL: '400d' }, /BACKUP_INTERVAL/],
    [{ BACKUP_KEEP: '0' }, /BACKUP_KEEP/],
    [{ BACKUP_KEEP: '2.5' }, /BACKUP_KEEP/],
  ])('%o is refused with the variable named', (env, message) => {
    expect(() => parseHubConfig([], env)).toThrow(message);
  });
});

describe('backup file names', () => {
  test('UTC, second precision, kind by extension, round trip', () => {
    expect(backupFileName('pg_dump', T)).toBe('sysmonstm-20250102T030405Z.dump');
    expect(backupFileName('pglite', T)).toBe('sysmonstm-20250102T030405Z.tar.gz');
    expect(parseBackupFileName('sysmonstm-20250102T030405Z.dump')).toEqual({ name: 'sysmonstm-20250102T030405Z.dump', atMs: T - 678, kind: 'pg_dump' });
    expect(parseBackupFileName('sysmonstm-20250102T030405Z.tar.gz')?.kind).toBe('pglite');
  });

  test.each([
    'sysmonstm-20250102T030405Z.sql',
    'sysmonstm-20251302T030405Z.dump', // month 13
    'sysmonstm-20250230T030405Z.dump', // 30 February
    'other-20250102T030405Z.dump',
    '.sysmonstm-20250102T030405Z.dump.partial',
    'sysmonstm-20250102T030405Z.dump.bak',
  ])('%s is not one of ours', (name) => {
    expect(parseBackupFileName(name)).toBeUndefined();
  });

  test('partial names are hidden and recognised', () => {
    const partial = partialFileName('sysmonstm-20250102T030405Z.dump');
    expect(partial).toBe('.sysmonstm-20250102T030405Z.dump.partial');
    expect(isPartialFileName(partial)).toBe(true);
    expect(isPartialFileName('sysmonstm-20250102T030405Z.dump')).toBe(false);
    expect(isPartialFileName('.bashrc.partial')).toBe(false);
  });
});

describe('pruning', () => {
  const names = [
    'sysmonstm-20250101T000000Z.dump',
    'sysmonstm-20250103T000000Z.dump',
    'notes.txt',
    'sysmonstm-20250102T000000Z.tar.gz',
    '.sysmonstm-20250104T000000Z.dump.partial',
    'sysmonstm-20250104T000000Z.dump',
  ];
  test.each([
    [1, ['sysmonstm-20250103T000000Z.dump', 'sysmonstm-20250102T000000Z.tar.gz', 'sysmonstm-20250101T000000Z.dump']],
    [2, ['sysmonstm-20250102T000000Z.tar.gz', 'sysmonstm-20250101T000000Z.dump']],
    [4, []],
    [10, []],
  ])('keep %d removes the oldest of ours only', (keep, expected) => {
    expect(backupsToPrune(names, keep)).toEqual(expected);
  });
  test('newest first; other files ignored', () => {
    expect(listBackups(names).map((b) => b.name)).toEqual([
      'sysmonstm-20250104T000000Z.dump',
      'sysmonstm-20250103T000000Z.dump',
      'sysmonstm-20250102T000000Z.tar.gz',
      'sysmonstm-20250101T000000Z.dump',
    ]);
  });
  test('keep must be a positive integer', () => {
    expect(() => backupsToPrune(names, 0)).toThrow(RangeError);
  });
});

describe('when the next backup is due', () => {
  test.each([
    ['no backup yet: after the first delay', 6 * HOUR, undefined, T, 60_000, 60_000],
    ['newest 1 h old, every 6 h: in 5 h', 6 * HOUR, T - HOUR, T, 60_000, 5 * HOUR],
    ['newest 7 h old, every 6 h: overdue, after the first delay', 6 * HOUR, T - 7 * HOUR, T, 60_000, 60_000],
    ['due in 10 s: not sooner than the first delay', 6 * HOUR, T - 6 * HOUR + 10_000, T, 60_000, 60_000],
    ['newest "in the future" (clock went back): at most one interval', 6 * HOUR, T + 48 * HOUR, T, 60_000, 6 * HOUR],
  ])('%s', (_, interval, newest, now, minDelay, expected) => {
    expect(nextBackupDelayMs(interval, newest, now, minDelay)).toBe(expected);
  });
  test('a zero interval is a programming error', () => {
    expect(() => nextBackupDelayMs(0, undefined, T, 0)).toThrow(RangeError);
  });
});

describe('pg_dump invocation', () => {
  test('the password goes to PGPASSWORD, never on the command line', () => {
    const { args, password } = pgDumpInvocation('postgres://hub:s%40cret@db.local:5433/sysmonstm?sslmode=require', '/b/x.partial');
    expect(password).toBe('s@cret');
    expect(args).toEqual(['--format=custom', '--no-password', '--file=/b/x.partial', '--dbname=postgres://hub@db.local:5433/sysmonstm?sslmode=require']);
    expect(args.join(' ')).not.toContain('cret');
  });
  test('no password: none set', () => {
    expect(pgDumpInvocation('postgresql://127.0.0.1/db', '/f').password).toBeUndefined();
  });
});

describe('backup scheduler on real files', () => {
  const dirs: Array<{ remove(): void }> = [];
  const schedulers: BackupScheduler[] = [];
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) d.remove();
  });
  const setup = (target: BackupTarget, options: { intervalMs?: number; keep?: number; now?: () => number } = {}) => {
    const dir = tempDir('backup-scheduler');
    dirs.push(dir);
    const backups = path.join(dir.path, 'backups');
    const { log, lines } = captureLog();
    const scheduler = createBackupScheduler({ target, dir: backups, intervalMs: options.intervalMs ?? 0, keep: options.keep ?? 3, log, firstDelayMs: 0, now: options.now });
    schedulers.push(scheduler);
    return { scheduler, backups, lines };
  };
  const fileTarget = (content = 'backup'): BackupTarget & { calls: string[] } => {
    const calls: string[] = [];
    return {
      kind: 'pg_dump',
      describe: 'test file',
      calls,
      async write(file) {
        calls.push(path.basename(file));
        await writeFile(file, content);
      },
    };
  };

  test('runNow writes under a hidden name, then renames; keeps the newest BACKUP_KEEP', async () => {
    let clock = T;
    const target = fileTarget('hello');
    const { scheduler, backups } = setup(target, { keep: 2, now: () => clock });
    const results = [];
    for (let i = 1; i <= 3; i++) {
      clock = T + i * HOUR;
      results.push(await scheduler.runNow());
    }
    expect(target.calls.every(isPartialFileName)).toBe(true);
    expect(readdirSync(backups).sort()).toEqual(['sysmonstm-20250102T050405Z.dump', 'sysmonstm-20250102T060405Z.dump']);
    expect(results[2]).toMatchObject({ file: path.join(backups, 'sysmonstm-20250102T060405Z.dump'), bytes: 5, pruned: ['sysmonstm-20250102T040405Z.dump'] });
    expect(readFileSync(results[2].file, 'utf8')).toBe('hello');
    expect(scheduler.stats()).toMatchObject({ succeeded: 3, failed: 0, lastBytes: 5, lastError: null, running: false });
  });

  test('a failing target leaves no file, is counted, and runNow rejects with its message', async () => {
    const target: BackupTarget = {
      kind: 'pg_dump',
      describe: 'broken',
      async write(file) {
        await writeFile(file, 'half');
        throw new Error('disk on fire');
      },
    };
    const { scheduler, backups } = setup(target);
    await expect(scheduler.runNow()).rejects.toThrow('disk on fire');
    expect(readdirSync(backups)).toEqual([]);
    expect(scheduler.stats()).toMatchObject({ succeeded: 0, failed: 1, lastError: 'disk on fire', lastSuccessAtMs: null });
  });

  test('two calls at once share one run', async () => {
    const target = fileTarget();
    const { scheduler } = setup(target);
    const [a, b] = await Promise.all([scheduler.runNow(), scheduler.runNow()]);
    expect(a).toBe(b);
    expect(target.calls).toHaveLength(1);
  });

  test('on schedule: leftovers removed at start, a backup per interval, failures logged and retried, never thrown', async () => {
    let fail = true;
    const calls: number[] = [];
    const target: BackupTarget = {
      kind: 'pglite',
      describe: 'flaky',
      async write(file) {
        calls.push(Date.now());
        if (fail) {
          fail = false;
          throw new Error('first one fails');
        }
        await writeFile(file, 'ok');
      },
    };
    const { scheduler, backups, lines } = setup(target, { intervalMs: 1000, keep: 5 });
    mkdirSync(backups, { recursive: true });
    writeFileSync(path.join(backups, partialFileName('sysmonstm-20240101T000000Z.tar.gz')), 'interrupted');
    scheduler.start();
    await waitFor('two good backups after a failure', () => scheduler.stats().succeeded >= 2, 10_000, 50);
    expect(scheduler.stats().failed).toBe(1);
    const names = readdirSync(backups);
    expect(names.filter(isPartialFileName)).toEqual([]);
    expect(listBackups(names).length).toBeGreaterThanOrEqual(2);
    expect(lines().some((l) => l.msg === 'backup failed (flaky)' && l.err === 'first one fails')).toBe(true);
    expect(lines().some((l) => l.msg === 'removed the leftover of an interrupted backup')).toBe(true);
    // Runs are an interval apart (the retry after the failure waits min(interval, 15 min) = 1 s too).
    for (let i = 1; i < calls.length; i++) expect(calls[i] - calls[i - 1]).toBeGreaterThanOrEqual(990);
  });

  test('close() stops the schedule; runNow afterwards is refused', async () => {
    const target = fileTarget();
    const { scheduler, backups } = setup(target, { intervalMs: 60_000 });
    scheduler.start();
    await scheduler.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(target.calls).toEqual([]);
    expect(existsSync(backups) ? readdirSync(backups) : []).toEqual([]);
    await expect(scheduler.runNow()).rejects.toThrow(/stopped/);
  });
});
