// Dashboard sessions that every process of one hub accepts (HUB_PROCESSES > 1): the session id carries
// its own expiry and an HMAC-SHA256 over it with a key derived from DASHBOARD_TOKEN, so any process
// (and a restarted one) checks it without a shared table; a new DASHBOARD_TOKEN ends every session,
// as a restart does for the in-memory store (session-store.ts). Sign-out records the id's SHA-256 in
// a revocation list the processes share (shared-revocations.ts) until the session would have expired.
// Pure but for the randomness of new ids; clock passed in.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SESSION_LIFETIME_MS, type SessionStore } from './session-store.ts';

export interface RevocationList {
  has(digest: string): boolean;
  /** Revoked until `untilMs` (the session's expiry). */
  add(digest: string, untilMs: number): void;
  readonly size: number;
}

/** `<expiry ms, hex>.<48 hex random>.<43 base64url HMAC>` */
const ID_PATTERN = /^([0-9a-f]{1,16})\.([0-9a-f]{48})\.([A-Za-z0-9_-]{43})$/;

export const sessionDigest = (id: string) => createHash('sha256').update(id).digest('base64');

/** The signing key of a dashboard token (the same in every process that has the token). */
export function sessionKey(dashboardToken: string): Buffer {
  return createHmac('sha256', dashboardToken).update('sysmonstm dashboard sessions v1').digest();
}

export function createSignedSessionStore(options: { key: Buffer; revoked: RevocationList; lifetimeMs?: number }): SessionStore {
  const { key, revoked } = options;
  const lifetimeMs = options.lifetimeMs ?? SESSION_LIFETIME_MS;
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  /** The session's expiry when `id` is well-formed and signed with this key, else undefined. */
  const expiryOf = (id: string): number | undefined => {
    const m = ID_PATTERN.exec(id);
    if (!m) return undefined;
    const expected = Buffer.from(mac(`${m[1]}.${m[2]}`));
    const given = Buffer.from(m[3]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    return parseInt(m[1]!, 16);
  };
  return {
    create(nowMs) {
      const payload = `${(nowMs + lifetimeMs).toString(16)}.${randomBytes(24).toString('hex')}`;
      return `${payload}.${mac(payload)}`;
    },
    valid(id, nowMs) {
      const expires = expiryOf(id);
      return expires !== undefined && expires > nowMs && !revoked.has(sessionDigest(id));
    },
    revoke(id) {
      const expires = expiryOf(id);
      if (expires === undefined) return;
      const digest = sessionDigest(id);
      // Already signed out (a replayed cookie): nothing to share again.
      if (!revoked.has(digest)) revoked.add(digest, expires);
    },
    /** Sessions are not counted here (nothing is stored per session); the revoked ones are. */
    get size() {
      return revoked.size;
    },
  };
}
