// Database errors: driver and server failures converted to one error that says whether a retry can
// help and names the server without its password.
import { describe, expect, test } from 'vitest';
import { createPgClient, describeDatabaseUrl, toDatabaseError } from '../../hub/db.ts';
import { captureLog } from '../support/test-log.ts';

describe('database errors', () => {
  test.each([
    [{ message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' }, true, /ctx: connect ECONNREFUSED 127\.0\.0\.1:1 \[ECONNREFUSED\]/],
    [new Error('Connection terminated unexpectedly'), true, /ctx: Connection terminated unexpectedly$/],
    [{ message: 'terminating connection due to administrator command', code: '57P01' }, true, /\[57P01\]/],
    [{ message: 'could not serialize access', code: '40001' }, true, /\[40001\]/],
    [{ message: 'duplicate key value', code: '23505', detail: 'Key (x)=(1) already exists.' }, false, /duplicate key value \(Key \(x\)=\(1\) already exists\.\) \[23505\]/],
    [{ message: 'relation "nope" does not exist', code: '42P01', hint: 'create it' }, false, /\(hint: create it\) \[42P01\]/],
    [new Error('PGlite is closed'), false, /PGlite is closed/],
  ])('%o → retryable %s', (err, retryable, message) => {
    const e = toDatabaseError(err, 'ctx');
    expect(e.retryable).toBe(retryable);
    expect(e.message).toMatch(message);
    expect(e.cause).toBe(err);
    expect(toDatabaseError(e, 'other')).toBe(e);
  });

  test('a URL is described without its password', () => {
    expect(describeDatabaseUrl('postgres://u:secret@db.lan:6543/hist')).toBe('db.lan:6543/hist');
    expect(describeDatabaseUrl('postgres://db.lan/hist')).toBe('db.lan:5432/hist');
    expect(describeDatabaseUrl('not a url')).not.toContain('not a url');
  });

  test('an unreachable server fails with a retryable error naming the host, not the password', async () => {
    const client = createPgClient('postgres://postgres:hunter2@127.0.0.1:1/test', { log: captureLog().log, connectTimeoutMs: 1000 });
    const err = await client.query('SELECT 1').then(() => undefined, (e: unknown) => e as Error & { retryable: boolean });
    await client.close();
    expect(err?.message).toMatch(/PostgreSQL 127\.0\.0\.1:1\/test: SELECT 1: .*ECONNREFUSED/);
    expect(err?.message).not.toContain('hunter2');
    expect(err?.retryable).toBe(true);
  });
});
