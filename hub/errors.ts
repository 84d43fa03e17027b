// One place where failures become answers: HTTP errors with a status and a JSON {error} body, and
// the conversion of anything thrown in a handler into a ConnectError with a precise code.
import { Code, ConnectError } from '@connectrpc/connect';
import { DatabaseError } from './db.ts';

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503;
  constructor(status: HttpError['status'], message: string) {
    super(message);
    this.status = status;
  }
}

/** The hub cannot start because of its environment (storage, a file): one line naming the variable, exit 2. */
export class StartupError extends Error {
  override name = 'StartupError';
}

export const badRequest = (message: string) => new HttpError(400, message);
export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);

/**
 * Redis cannot be reached or is not ready (ioredis: the connection is closed or not writable, no reply
 * within the command timeout, the retries per request ran out, a socket error; the server: LOADING,
 * TRYAGAIN, CLUSTERDOWN, MASTERDOWN). A caller gets "try again": 503 over REST, UNAVAILABLE over gRPC.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (err.name === 'ReplyError') return /^(LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|BUSY)\b/.test(err.message);
  return /^(Connection is closed|Stream isn't writeable|Command timed out|connect (ECONNREFUSED|ETIMEDOUT))/.test(err.message);
}

/**
 * Anything thrown → the ConnectError a gRPC caller gets (the one mapping, used by grpc-errors.ts):
 * HTTP status → gRPC code, so the REST and gRPC faces of one query fail the same way; a retryable
 * database error or an unreachable Redis → UNAVAILABLE; anything else INTERNAL.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DatabaseError) return new ConnectError(err.message, err.retryable ? Code.Unavailable : Code.Internal, undefined, undefined, err);
  if (isRedisUnavailable(err)) return new ConnectError(`Redis is unavailable: ${(err as Error).message}`, Code.Unavailable, undefined, undefined, err);
  if (err instanceof HttpError) {
    const code = { 400: Code.InvalidArgument, 401: Code.Unauthenticated, 403: Code.PermissionDenied, 404: Code.NotFound, 409: Code.AlreadyExists, 413: Code.ResourceExhausted, 429: Code.ResourceExhausted, 500: Code.Internal, 503: Code.Unavailable }[err.status];
    return new ConnectError(err.message, code);
  }
  return new ConnectError(err instanceof Error ? err.message : String(err), Code.Internal);
}
