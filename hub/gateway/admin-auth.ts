// Who may change alerting (rules, channels, acknowledge, silence, dead-letter retries), decided in one
// place for REST and gRPC alike: with ADMIN_TOKEN set, a request must carry `Authorization: Bearer
// <token>` (compared in constant time); without it, only loopback peers (127.0.0.0/8, ::1) may write —
// the embedded default on one machine. Reads are not decided here.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createContextKey, createContextValues, type ContextValues } from '@connectrpc/connect';

export type AdminDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** Equal-length digests, so neither the token's content nor its length leaks through timing. */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function authorizeAdmin(input: { adminToken: string | undefined; authorization: string | null | undefined; peerAddress: string | undefined }): AdminDecision {
  if (input.adminToken) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(input.authorization ?? '');
    if (!m) return { ok: false, status: 401, message: 'this change needs Authorization: Bearer <ADMIN_TOKEN>' };
    if (!sameToken(m[1], input.adminToken)) return { ok: false, status: 401, message: 'the admin token is not valid' };
    return { ok: true };
  }
  if (isLoopback(input.peerAddress)) return { ok: true };
  return { ok: false, status: 403, message: 'changes are allowed from this machine only (127.0.0.1) unless ADMIN_TOKEN is set on the hub' };
}

/** The gRPC peer's address, put into each call's context by the hub's Connect adapter. */
export const peerAddressKey = createContextKey<string | undefined>(undefined, { description: 'peer address' });

export function peerContextValues(req: { socket?: { remoteAddress?: string } | null }): ContextValues {
  return createContextValues().set(peerAddressKey, req.socket?.remoteAddress);
}
