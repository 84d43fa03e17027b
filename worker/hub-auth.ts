// Who may write to the relay: only a request carrying `Authorization: Bearer <HUB_TOKEN>`. Both sides
// are hashed with SHA-256 first and the digests compared in constant time, so neither the token's
// length nor its prefix leaks through timing. No token configured means nobody may write.
// Uses only Web Crypto, so it runs (and is tested) in Node as well as in workerd.

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The token in an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1] : null;
}

export type HubAuthResult = 'ok' | 'missing' | 'wrong' | 'not-configured';

export async function checkHubAuth(header: string | null | undefined, configuredToken: string | undefined): Promise<HubAuthResult> {
  if (!configuredToken) return 'not-configured';
  const presented = bearerToken(header);
  if (presented === null) return 'missing';
  const [a, b] = await Promise.all([sha256(presented), sha256(configuredToken)]);
  return constantTimeEqual(a, b) ? 'ok' : 'wrong';
}
