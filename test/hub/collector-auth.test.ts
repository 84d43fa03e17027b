// hub/collector-auth.ts, pure: the collector tokens (shared and per machine, the tokens file format),
// the bearer header and the constant-time comparison.
import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { bearerToken, createCollectorAuth, parseCollectorTokens, tokensEqual } from '../../hub/collector-auth.ts';

const SHARED = 'shared-token-0123456789';
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConnectError ? Code[err.code] : String(err);
  }
  return 'ok';
};

describe('collector tokens', () => {
  it('parses the tokens file and names the line of a mistake', () => {
    const text = '# machine token\n\nweb-01 aaaaaaaaaaaaaaaa1\n  db-01\tbbbbbbbbbbbbbbbb2  \n';
    expect(parseCollectorTokens(text, 'tokens.txt')).toEqual([
      ['web-01', 'aaaaaaaaaaaaaaaa1'],
      ['db-01', 'bbbbbbbbbbbbbbbb2'],
    ]);
    expect(() => parseCollectorTokens('web-01\n', 'f')).toThrow(/f line 1: expected "machine_id token"/);
    expect(() => parseCollectorTokens('bad/id aaaaaaaaaaaaaaaa\n', 'f')).toThrow(/line 1: machine id/);
    expect(() => parseCollectorTokens('a short\n', 'f')).toThrow(/16\.\.512 printable/);
    expect(() => parseCollectorTokens('a aaaaaaaaaaaaaaaa\na bbbbbbbbbbbbbbbb\n', 'f')).toThrow(/line 2: machine a is listed twice/);
    expect(() => parseCollectorTokens('a aaaaaaaaaaaaaaaa\nb aaaaaaaaaaaaaaaa\n', 'f')).toThrow(/line 2: this token is already used/);
  });

  it('is off without tokens; with them, a missing or wrong token is UNAUTHENTICATED', () => {
    expect(createCollectorAuth({})).toBeUndefined();
    const auth = createCollectorAuth({ sharedToken: SHARED, machineTokens: [['web-01', 'web-01-token-abcdefgh']] })!;
    expect(codeOf(() => auth.authenticate(undefined))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate('Basic abc'))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate(`Bearer ${SHARED}x`))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate(`Bearer ${SHARED.slice(0, -1)}`))).toBe('Unauthenticated');
    expect(codeOf(() => auth.authenticate(SHARED))).toBe('Unauthenticated');
    expect(auth.authenticate(`Bearer ${SHARED}`)).toEqual({ machineId: undefined });
    expect(auth.authenticate('bearer   web-01-token-abcdefgh ')).toEqual({ machineId: 'web-01' });
  });

  it('a machine token speaks only for its machine: PERMISSION_DENIED for another id', () => {
    const auth = createCollectorAuth({ machineTokens: [['web-01', 'web-01-token-abcdefgh']] })!;
    const grant = auth.authenticate('Bearer web-01-token-abcdefgh');
    expect(codeOf(() => auth.authorize(grant, 'web-01'))).toBe('ok');
    expect(codeOf(() => auth.authorize(grant, 'db-01'))).toBe('PermissionDenied');
    expect(codeOf(() => auth.authenticate(`Bearer ${SHARED}`))).toBe('Unauthenticated'); // no shared token set
  });

  it('bearerToken and tokensEqual', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('')).toBeNull();
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
  });
});
