// One error path for every gRPC service of the hub: an interceptor that turns whatever a handler
// throws — before its answer or while it streams — into a ConnectError with a precise code, so the
// services throw plain errors and never convert them themselves. The mapping is pure (toConnectError
// in errors.ts): HttpError statuses (validation 400 → INVALID_ARGUMENT, 404 → NOT_FOUND, …), a
// database error the driver marks retryable and a Redis that cannot be reached → UNAVAILABLE (the
// caller may retry), anything else INTERNAL. A ConnectError passes unchanged.
import type { Interceptor } from '@connectrpc/connect';
import { toConnectError } from './errors.ts';

async function* converted<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw toConnectError(err);
  }
}

export function grpcErrorInterceptor(): Interceptor {
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw toConnectError(err);
    }
    if (!res.stream) return res;
    return { ...res, message: converted(res.message) };
  };
}
