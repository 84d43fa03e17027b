// The Worker's Content-Security-Policy (proto/security-headers.ts): WebSockets only back to the serving host.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../proto/security-headers.ts';

describe('the Worker’s Content-Security-Policy', () => {
  it('allows WebSockets only back to the serving host', () => {
    expect(contentSecurityPolicy(new URL('https://x.workers.dev/'))).toContain("connect-src 'self' wss://x.workers.dev");
    expect(contentSecurityPolicy(new URL('https://x.workers.dev/'))).toContain("frame-ancestors 'none'");
  });
});
