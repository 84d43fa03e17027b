// Security headers, defined once for both places that serve the dashboard: the hub (its Hono app) and
// the edge Worker. Both send the same hardening headers and a Content-Security-Policy that allows
// scripts from the own origin only and no framing; the dashboard never needs inline scripts
// (textContent, not innerHTML, renders machine names). The edge's policy is the stricter one: nothing
// by default, WebSocket only back to the host that served the page, no form posts, and it adds
// Cross-Origin-Opener-Policy and Permissions-Policy. The hub's allows form posts to itself (the
// login page) and WebSockets to any host (a hub is reached under names it cannot know).

/** Sent by the hub and the edge alike. */
export const COMMON_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
});

/** The hub's Content-Security-Policy. */
export const HUB_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Every header the hub adds to its answers. */
export const HUB_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...COMMON_SECURITY_HEADERS,
  'Content-Security-Policy': HUB_CONTENT_SECURITY_POLICY,
});

/** The edge's Content-Security-Policy for a page served at `requestUrl`. */
export function contentSecurityPolicy(requestUrl: URL): string {
  const wsScheme = requestUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${wsScheme}//${requestUrl.host}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Every header the edge Worker adds to its answers. */
export function securityHeaders(requestUrl: URL): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(requestUrl),
    ...COMMON_SECURITY_HEADERS,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}
