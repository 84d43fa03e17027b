// Who may watch a `link` view: whoever presents the secret whose SHA-256 (lowercase hex) the hub sent as
// `keyHash` in the view's config frame. The relay never sees the secret at rest, only its hash; the
// comparison takes the same time wherever the digests differ. A viewer's hash is kept with its socket,
// so a rotated key (a new config frame) closes every viewer that came in with the old one.
import type { ViewConfigFrame } from '../proto/view-frames.ts';

const encoder = new TextEncoder();

/** Longest `?key=` accepted (the hub's secrets are far shorter); longer is simply wrong. */
export const MAX_LINK_KEY_LENGTH = 256;

export async function linkKeyHash(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function sameKeyHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The hash to remember for a viewer presenting `key` (null for a public view or no key). */
export async function presentedKeyHash(key: string | null | undefined): Promise<string | null> {
  if (!key || key.length > MAX_LINK_KEY_LENGTH) return null;
  return linkKeyHash(key);
}

/** Whether a viewer that presented `presented` (a hash, or null) may watch the view as configured. */
export function mayWatch(config: Pick<ViewConfigFrame, 'access' | 'keyHash'> | null, presented: string | null): boolean {
  if (config === null) return false;
  if (config.access === 'public') return true;
  return presented !== null && config.keyHash !== null && sameKeyHash(presented, config.keyHash);
}
