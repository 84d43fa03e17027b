// The admin token hint: what the box says for each combination of a token in this tab and what the hub
// says about ADMIN_TOKEN (unknown until /api/info answers).
import { describe, expect, test } from 'vitest';
import { tokenHint } from '../../web/src/admin-token-box.ts';

describe('tokenHint', () => {
  test.each([
    [true, true, 'A token is set for this tab.'],
    [true, false, 'A token is set for this tab.'],
    [false, true, 'This hub sets ADMIN_TOKEN: enter it to make changes.'],
    [false, false, 'No token needed: this hub takes changes from its own machine (set ADMIN_TOKEN to allow them from elsewhere).'],
    [false, undefined, ''],
  ] as const)('token set %s, hub requires %s', (tokenSet, required, hint) => expect(tokenHint(tokenSet, required)).toBe(hint));
});
