// The admin check used by REST and gRPC alike: the bearer token when ADMIN_TOKEN is set (401 otherwise),
// loopback peers only when it is not (403 otherwise).
import { describe, expect, test } from 'vitest';
import { authorizeAdmin, isLoopback } from '../../../hub/gateway/admin-auth.ts';

describe('authorizeAdmin', () => {
  const TOKEN = 'a-very-long-admin-token-123';
  test.each([
    [TOKEN, `Bearer ${TOKEN}`, '10.0.0.5', true],
    [TOKEN, `bearer ${TOKEN}`, '10.0.0.5', true],
    [TOKEN, `Bearer ${TOKEN}x`, '127.0.0.1', false],
    [TOKEN, undefined, '127.0.0.1', false],
    [TOKEN, TOKEN, '127.0.0.1', false],
    [undefined, undefined, '127.0.0.1', true],
    [undefined, undefined, '::1', true],
    [undefined, undefined, '::ffff:127.0.0.1', true],
    [undefined, undefined, '127.8.9.10', true],
    [undefined, undefined, '10.0.0.5', false],
    [undefined, undefined, '::ffff:192.168.1.2', false],
    [undefined, undefined, undefined, false],
    [undefined, 'Bearer anything', '192.168.1.2', false],
  ])('token %s, header %s, peer %s → %s', (adminToken, authorization, peerAddress, ok) => {
    const d = authorizeAdmin({ adminToken, authorization, peerAddress });
    expect(d.ok).toBe(ok);
    if (!d.ok) expect(d.status).toBe(adminToken ? 401 : 403);
  });

  test('loopback detection', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('1270.0.0.1')).toBe(false);
    expect(isLoopback('::2')).toBe(false);
  });
});
