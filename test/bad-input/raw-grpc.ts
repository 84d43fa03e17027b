// Test support: one gRPC call made by hand over node:http2, so a test can send bytes no gRPC library
// would produce (truncated frames, lying length prefixes, garbage protobuf, a compressed flag without
// compression) and read exactly what the server answers: HTTP status, headers, trailers, the
// grpc-status and grpc-message, and the response messages' bytes.
import http2 from 'node:http2';

export interface RawGrpcResult {
  httpStatus: number;
  /** grpc-status from the trailers (or from the headers of a trailers-only answer); undefined if absent. */
  grpcStatus: number | undefined;
  grpcMessage: string;
  contentType: string | undefined;
  /** Response body as received (gRPC frames). */
  body: Buffer;
}

/** A gRPC length-prefixed frame: flag byte, 4-byte big-endian length, payload. `length` may lie. */
export function grpcFrame(payload: Uint8Array, options: { compressed?: boolean; length?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header[0] = options.compressed ? 1 : 0;
  header.writeUInt32BE(options.length ?? payload.length, 1);
  return Buffer.concat([header, Buffer.from(payload)]);
}

export function rawGrpcCall(
  authority: string,
  path: string,
  body: Buffer,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawGrpcResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority);
    session.on('error', reject);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no complete answer to ${path} within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      ...options.headers,
    });
    let headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => {
      trailers = t;
      // The answer is complete; a server that answered before reading our whole body may not reset the
      // stream, so stop sending instead of waiting for flow control that never opens.
      setImmediate(() => req.close(http2.constants.NGHTTP2_CANCEL));
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', (err) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    });
    req.on('close', () => {
      clearTimeout(timer);
      session.close();
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      const message = trailers['grpc-message'] ?? headers['grpc-message'];
      resolve({
        httpStatus: Number(headers[':status'] ?? 0),
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: message === undefined ? '' : decodeURIComponent(String(message)),
        contentType: headers['content-type'],
        body: Buffer.concat(chunks),
      });
    });
    req.end(body);
  });
}
