// The hub's bearer key at the Worker's /ingest (worker/hub-auth.ts): compared in constant time.
import { describe, expect, it } from 'vitest';
import { checkHubAuth, bearerToken } from '../../worker/hub-auth.ts';

describe('hub auth', () => {
  it.each([
    [undefined, 'secret', 'missing'],
    ['Bearer secret', undefined, 'not-configured'],
    ['Bearer secret', '', 'not-configured'],
    ['Bearer wrong', 'secret', 'wrong'],
    ['Bearer secretx', 'secret', 'wrong'],
    ['Basic secret', 'secret', 'missing'],
    ['secret', 'secret', 'missing'],
    ['Bearer secret', 'secret', 'ok'],
    ['bearer   secret ', 'secret', 'ok'],
  ] as const)('%s with token %s → %s', async (header, token, expected) => {
    expect(await checkHubAuth(header, token)).toBe(expected);
  });
  it('extracts only a single bearer token', () => {
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('Bearer abc')).toBe('abc');
  });
});
