// Security headers for everything the Worker serves: a strict Content-Security-Policy (scripts and
// styles from this origin only, WebSocket only back to this host, no framing) plus the usual hardening
// headers. The dashboard never needs inline scripts; textContent, not innerHTML, renders machine names.
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

export function securityHeaders(requestUrl: URL): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(requestUrl),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}
