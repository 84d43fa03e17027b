// Who may stream reports to the hub. With COLLECTOR_TOKEN set, a collector must send
// `authorization: Bearer <token>` in the gRPC metadata; with COLLECTOR_TOKENS_FILE, each listed token
// is bound to one machine id (a stolen token can only speak for its own machine). Both may be used
// together. A missing or wrong token gets UNAUTHENTICATED before anything is read from the stream; a
// machine token used for another machine id gets PERMISSION_DENIED after the Hello, and so does the
// shared token for a machine id the tokens file binds (that machine speaks with its own token only).
//
// Tokens are compared as SHA-256 digests: the shared one with a constant-time compare, the per-machine
// ones by looking the digest up (the digest of a guess says nothing about the real tokens), so neither
// the length nor a prefix of a token leaks through timing.
//
// The tokens file: one `machine_id token` pair per line; blank lines and lines starting with `#` are
// ignored. Machine ids follow the collector's rule, tokens are 16..512 printable ASCII characters.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import { MACHINE_ID_PATTERN, MACHINE_ID_RULE } from '../proto/machine-id.ts';

export const MIN_TOKEN_LENGTH = 16;
const TOKEN_PATTERN = /^[\x21-\x7e]{16,512}$/;

/** What an authenticated stream may do: any machine (the shared token), or only `machineId`. */
export interface CollectorGrant {
  readonly machineId: string | undefined;
}

export interface CollectorAuth {
  /** The grant for an `authorization` header; throws ConnectError(UNAUTHENTICATED) when it has none. */
  authenticate(authorization: string | null | undefined): CollectorGrant;
  /** Throws ConnectError(PERMISSION_DENIED) when the grant does not cover `machineId`. */
  authorize(grant: CollectorGrant, machineId: string): void;
  /** Machine tokens configured (for the start log). */
  readonly machineTokens: number;
}

export class TokensFileError extends Error {
  override name = 'TokensFileError';
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The token in an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1] : null;
}

/** True when `presented` equals `expected`, in time independent of where they differ. */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Parses a tokens file (format in the header). Pure; `source` names the file in errors. */
export function parseCollectorTokens(text: string, source: string): Array<[machineId: string, token: string]> {
  const pairs: Array<[string, string]> = [];
  const machines = new Set<string>();
  const tokens = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source} line ${index + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new TokensFileError(`${where}: expected "machine_id token"`);
    const [machineId, token] = parts;
    if (!MACHINE_ID_PATTERN.test(machineId)) throw new TokensFileError(`${where}: machine id ${MACHINE_ID_RULE}`);
    if (!TOKEN_PATTERN.test(token)) throw new TokensFileError(`${where}: the token must be ${MIN_TOKEN_LENGTH}..512 printable ASCII characters`);
    if (machines.has(machineId)) throw new TokensFileError(`${where}: machine ${machineId} is listed twice`);
    if (tokens.has(token)) throw new TokensFileError(`${where}: this token is already used by another machine`);
    machines.add(machineId);
    tokens.add(token);
    pairs.push([machineId, token]);
  });
  return pairs;
}

/** undefined when no token is configured: the hub then accepts every collector (trusted network). */
export function createCollectorAuth(options: { sharedToken?: string; machineTokens?: ReadonlyArray<readonly [string, string]> }): CollectorAuth | undefined {
  const machineTokens = options.machineTokens ?? [];
  if (!options.sharedToken && machineTokens.length === 0) return undefined;
  const shared = options.sharedToken ? digest(options.sharedToken) : undefined;
  const byDigest = new Map<string, string>();
  for (const [machineId, token] of machineTokens) byDigest.set(digest(token).toString('hex'), machineId);
  const boundMachines = new Set(machineTokens.map(([machineId]) => machineId));

  return {
    machineTokens: byDigest.size,
    authenticate(authorization) {
      const token = bearerToken(authorization);
      if (token === null) throw new ConnectError('missing collector token: send "authorization: Bearer <COLLECTOR_TOKEN>"', Code.Unauthenticated);
      const presented = digest(token);
      if (shared && timingSafeEqual(presented, shared)) return { machineId: undefined };
      const machineId = byDigest.get(presented.toString('hex'));
      if (machineId !== undefined) return { machineId };
      throw new ConnectError('invalid collector token', Code.Unauthenticated);
    },
    authorize(grant, machineId) {
      if (grant.machineId !== undefined && grant.machineId !== machineId) {
        throw new ConnectError(`this token belongs to machine "${grant.machineId}", not "${machineId}"`, Code.PermissionDenied);
      }
      if (grant.machineId === undefined && boundMachines.has(machineId)) {
        throw new ConnectError(`machine "${machineId}" has its own token in COLLECTOR_TOKENS_FILE; the shared COLLECTOR_TOKEN does not speak for it`, Code.PermissionDenied);
      }
    },
  };
}
