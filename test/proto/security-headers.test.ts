import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { COMMON_SECURITY_HEADERS, HUB_SECURITY_HEADERS, securityHeaders } from '../../proto/security-headers.ts';
import { createHttpApp } from '../../hub/gateway/http-app.ts';
import type { FleetQuery } from '../../hub/fleet/fleet-query.ts';
import { createLogger } from '../../hub/log.ts';

describe('proto/security-headers', () => {
  it('the hub policy: own origin, WebSockets anywhere, form posts to itself, no framing', () => {
    expect(HUB_SECURITY_HEADERS['Content-Security-Policy']).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
  });

  it('the edge policy names the serving host and adds its own headers on top of the common ones', () => {
    const h = securityHeaders(new URL('http://127.0.0.1:8787/v/x'));
    expect(h['Content-Security-Policy']).toContain("connect-src 'self' ws://127.0.0.1:8787");
    expect(h['Content-Security-Policy']).toContain("default-src 'none'");
    for (const [k, v] of Object.entries(COMMON_SECURITY_HEADERS)) expect(h[k]).toBe(v);
    expect(h['Cross-Origin-Opener-Policy']).toBe('same-origin');
  });

  it('the hub sends exactly these headers', async () => {
    // /health reads nothing from the fleet.
    const app: Hono = createHttpApp({ fleet: {} as FleetQuery, ready: async () => ({}), info: () => ({}), log: createLogger({ level: 'silent', format: 'json', name: 'test' }) });
    const res = await app.request('/health');
    for (const [k, v] of Object.entries(HUB_SECURITY_HEADERS)) expect(res.headers.get(k)).toBe(v);
  });
});
