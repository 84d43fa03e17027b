// Dashboard sessions kept on the hub: a browser that signs in gets a random id (256 bits) in its
// cookie, and the hub keeps only the id's SHA-256 with an expiry. Sessions are revocable (sign-out
// deletes the session), expire (SESSION_LIFETIME_MS after sign-in), and are bounded in number (past
// MAX_SESSIONS the oldest is ended). They live in this hub's memory: a restart — which is also how a
// new DASHBOARD_TOKEN takes effect — ends every session. Several hub processes (HUB_PROCESSES) use
// signed-session-store.ts instead. Clock passed in.
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_LIFETIME_MS = 30 * 24 * 3600 * 1000;
export const MAX_SESSIONS = 1000;

export interface SessionStore {
  /** A new session id (hex), valid until nowMs + lifetime. */
  create(nowMs: number): string;
  /** True while `id` names a live session. */
  valid(id: string, nowMs: number): boolean;
  /** Ends the session `id` (sign-out); unknown ids are ignored. */
  revoke(id: string): void;
  readonly size: number;
}

const digest = (id: string) => createHash('sha256').update(id).digest('base64');

export function createSessionStore(options: { lifetimeMs?: number; maxSessions?: number } = {}): SessionStore {
  const lifetimeMs = options.lifetimeMs ?? SESSION_LIFETIME_MS;
  const maxSessions = options.maxSessions ?? MAX_SESSIONS;
  /** digest → expiry; Map order is creation order, so the oldest session is first. */
  const sessions = new Map<string, number>();
  return {
    create(nowMs) {
      for (const [d, expires] of sessions) if (expires <= nowMs) sessions.delete(d);
      while (sessions.size >= maxSessions) sessions.delete(sessions.keys().next().value!);
      const id = randomBytes(32).toString('hex');
      sessions.set(digest(id), nowMs + lifetimeMs);
      return id;
    },
    valid(id, nowMs) {
      if (!/^[0-9a-f]{64}$/.test(id)) return false;
      const d = digest(id);
      const expires = sessions.get(d);
      if (expires === undefined) return false;
      if (expires <= nowMs) {
        sessions.delete(d);
        return false;
      }
      return true;
    },
    revoke(id) {
      sessions.delete(digest(id));
    },
    get size() {
      return sessions.size;
    },
  };
}
