// IngestService.Stream over plain gRPC without Connect's async iterables: the collectors' one hot
// path. Each HTTP/2 DATA chunk is split into gRPC messages here, decoded once and handed to the
// stream's session (ingest-service.ts openStream) in the same turn; responses are framed and written
// straight to the HTTP/2 stream. Connect's server pipeline (request and response async iterables,
// interceptors, a response queue) cost more CPU than the report's own handling at 1 Hz.
//
// Only calls in the form the collector sends are taken: POST, `application/grpc` or
// `application/grpc+proto`, no message compression (`grpc-encoding` absent or identity). Anything else
// (gRPC-Web, the Connect protocol, JSON, compressed messages) goes to Connect as before, so every client
// that worked still works. The wire behaviour follows Connect's gRPC handler: status in trailers,
// `grpc-message` percent-encoded, `grpc-timeout` honoured (DEADLINE_EXCEEDED), a message over
// readMaxBytes is RESOURCE_EXHAUSTED, one that does not parse INVALID_ARGUMENT.
// Bounds: a message is buffered only up to readMaxBytes; history backpressure pauses the HTTP/2 stream
// (flow control then holds the collector: grpc-flow-control.ts); responses the client does not read are
// capped at RESPONSE_BUFFER_MAX_BYTES, then the stream is reset; hub shutdown ends every stream
// UNAVAILABLE.
import type http2 from 'node:http2';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { IngestService, StreamRequestSchema, StreamResponseSchema, type StreamRequest, type StreamResponse } from '../proto/gen/sysmonstm/v1/ingest_pb.js';
import { toConnectError } from './errors.ts';
import { hubShuttingDown, type IngestStreamSession, type StreamCaller, type StreamOutput } from './ingest-service.ts';
import type { Logger } from './log.ts';

export const INGEST_STREAM_PATH = `/${IngestService.typeName}/${IngestService.method.stream.name}`;

/** Responses (acks, settings) a client leaves unread beyond this: the stream is reset. */
export const RESPONSE_BUFFER_MAX_BYTES = 1024 * 1024;

/** A client that goes on sending this long after the status was sent gets its stream reset. */
const LINGER_AFTER_STATUS_MS = 5000;

const CONTENT_TYPES = new Set(['application/grpc', 'application/grpc+proto']);
const FRAME_HEADER_BYTES = 5;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface IngestH2Options {
  openStream(caller: StreamCaller, out: StreamOutput): IngestStreamSession;
  /** The largest message accepted (the Connect adapter's readMaxBytes). */
  readMaxBytes: number;
  /** Aborted when the hub closes: every open stream ends UNAVAILABLE. */
  shutdownSignal: AbortSignal;
  log: Logger;
  /** Responses a client may leave unread before its stream is reset (default RESPONSE_BUFFER_MAX_BYTES). */
  responseBufferMaxBytes?: number;
}

export interface IngestH2 {
  /** True for a plain gRPC call of IngestService.Stream, which handle() serves; anything else goes to Connect. */
  accepts(req: http2.Http2ServerRequest): boolean;
  handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void;
}

/** grpc-timeout: up to 8 digits and a unit (gRPC over HTTP/2). Returns ms, or an error message. */
export function parseGrpcTimeout(value: string): number | { error: string } {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return { error: `protocol error: invalid grpc timeout value: ${value}` };
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[m[2] as 'H'];
  return Number(m[1]) * unitMs;
}

/** The 5-byte gRPC message prefix and the message. */
export function frameMessage(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Splits gRPC messages out of a byte stream that arrives in arbitrary chunks. Each complete message
 * goes to `onMessage`; a bad prefix or a size over the cap throws (ConnectError).
 */
export function createFrameReader(readMaxBytes: number, onMessage: (bytes: Uint8Array) => void) {
  /** The start of a message that has not fully arrived: kept as chunks, joined once it is complete. */
  let pieces: Buffer[] = [];
  let heldBytes = 0;
  const check = (buf: Buffer, at: number): number => {
    const flags = buf[at];
    if (flags !== 0) {
      throw flags === 1
        ? new ConnectError('malformed request: received a compressed envelope without grpc-encoding', Code.InvalidArgument)
        : new ConnectError(`malformed request: invalid message flags ${flags}`, Code.InvalidArgument);
    }
    const length = buf.readUInt32BE(at + 1);
    if (length > readMaxBytes) throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    return length;
  };
  const read = (chunk: Buffer) => {
    let buf = chunk;
    if (heldBytes > 0) {
      pieces.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes < FRAME_HEADER_BYTES) return;
      if (pieces[0].length < FRAME_HEADER_BYTES) pieces = [Buffer.concat(pieces, heldBytes)]; // the prefix in one piece, once
      if (heldBytes < FRAME_HEADER_BYTES + check(pieces[0], 0)) return;
      buf = Buffer.concat(pieces, heldBytes);
      pieces = [];
      heldBytes = 0;
    }
    let at = 0;
    while (buf.length - at >= FRAME_HEADER_BYTES) {
      const length = check(buf, at);
      if (buf.length - at - FRAME_HEADER_BYTES < length) break;
      onMessage(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
      at += FRAME_HEADER_BYTES + length;
    }
    if (at < buf.length) {
      // A copy of the remainder: a whole chunk's memory is not kept for the start of the next message.
      const rest = Buffer.from(buf.subarray(at));
      pieces = [rest];
      heldBytes = rest.length;
    }
  };
  /** True while a message has begun but not fully arrived (at the end of the stream: it never will). */
  read.partial = () => heldBytes > 0;
  return read;
}

function header(req: http2.Http2ServerRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createIngestH2(options: IngestH2Options): IngestH2 {
  const responseBufferMaxBytes = options.responseBufferMaxBytes ?? RESPONSE_BUFFER_MAX_BYTES;
  const open = new Set<() => void>();
  options.shutdownSignal.addEventListener('abort', () => {
    for (const shut of [...open]) shut();
  });

  return {
    accepts(req) {
      if (req.method !== 'POST' || req.url !== INGEST_STREAM_PATH) return false;
      const type = header(req, 'content-type')?.toLowerCase();
      if (!type || !CONTENT_TYPES.has(type)) return false;
      const encoding = header(req, 'grpc-encoding');
      return encoding === undefined || encoding === 'identity';
    },

    handle(req, res) {
      const stream = req.stream;
      let headersSent = false;
      let done = false;
      let requestEnded = false;
      let session: IngestStreamSession | undefined;
      let deadline: NodeJS.Timeout | undefined;

      const sendHeaders = () => {
        if (headersSent) return;
        headersSent = true;
        res.writeHead(200, { 'content-type': 'application/grpc+proto' });
      };
      /** The call is over for whatever reason: no more reading or writing, the session cleaned up. */
      const settle = () => {
        done = true;
        if (deadline) clearTimeout(deadline);
        open.delete(shut);
        session?.close();
      };
      const finishWith = (trailers: Record<string, string>) => {
        if (done) return;
        settle();
        if (!stream.destroyed) {
          sendHeaders();
          res.addTrailers(trailers);
          res.end();
          // The call is over once the status is out. What the client still sends is read and dropped
          // (resetting at once can overtake the status at the client); one that goes on sending is reset.
          stream.resume();
          if (!requestEnded) {
            const reset = setTimeout(() => {
              if (!stream.destroyed) stream.close();
            }, LINGER_AFTER_STATUS_MS);
            reset.unref();
            stream.once('close', () => clearTimeout(reset));
          }
        }
      };
      const out: StreamOutput = {
        push(message: StreamResponse) {
          if (done || stream.destroyed) return;
          sendHeaders();
          if (stream.writableLength > responseBufferMaxBytes) {
            options.log.warn({ unread: stream.writableLength }, 'collector does not read its responses; stream reset');
            settle();
            stream.close(0x0b); // ENHANCE_YOUR_CALM
            return;
          }
          res.write(frameMessage(toBinary(StreamResponseSchema, message)));
        },
        fail(err) {
          const e = toConnectError(err);
          const trailers: Record<string, string> = {};
          e.metadata.forEach((value, key) => {
            if (!key.startsWith('grpc-') && key !== 'content-type') trailers[key] = value;
          });
          trailers['grpc-status'] = String(e.code);
          trailers['grpc-message'] = encodeURIComponent(e.rawMessage);
          finishWith(trailers);
        },
        end() {
          finishWith({ 'grpc-status': '0' });
        },
      };
      const shut = () => out.fail(hubShuttingDown());
      if (options.shutdownSignal.aborted) {
        shut(); // opened while the hub closes its connections
        return;
      }

      const timeout = header(req, 'grpc-timeout');
      if (timeout !== undefined) {
        const ms = parseGrpcTimeout(timeout);
        if (typeof ms === 'object') {
          out.fail(new ConnectError(ms.error, Code.InvalidArgument));
          return;
        }
        // A Node timer holds at most 2^31-1 ms (~24.8 days); a longer one would fire after 1 ms.
        if (ms <= MAX_TIMER_MS) {
          deadline = setTimeout(() => out.fail(new ConnectError('the operation timed out', Code.DeadlineExceeded)), ms);
          deadline.unref();
        }
      }
      try {
        session = options.openStream({ authorization: header(req, 'authorization'), forwardedFor: header(req, 'x-forwarded-for') }, out);
      } catch (err) {
        out.fail(err);
        return;
      }
      if (done) return;
      open.add(shut);

      // Messages of one chunk wait here while the session holds the stream (hello checks, backpressure).
      const queued: StreamRequest[] = [];
      let waiting = false;
      let finished = false;
      const hold = (wait: Promise<void>) => {
        waiting = true;
        stream.pause();
        void wait.then(() => {
          waiting = false;
          if (done) return;
          stream.resume();
          pump();
        });
      };
      /** A request-side error (a bad frame, a cut envelope) behind messages still held: raised once they are handled, in order. */
      let broken: { err: unknown } | undefined;
      const breakWith = (err: unknown) => {
        if (waiting || queued.length > 0) broken ??= { err };
        else session!.fail(err);
      };
      const pump = () => {
        while (!waiting && queued.length > 0 && session!.open) {
          const wait = session!.receive(queued.shift()!);
          if (wait) hold(wait);
        }
        if (broken) {
          if (!waiting && queued.length === 0) session!.fail(broken.err);
          return;
        }
        if (!waiting && queued.length === 0 && requestEnded && !finished) {
          finished = true;
          session!.finish();
        }
      };
      const deliver = (bytes: Uint8Array) => {
        let message: StreamRequest;
        try {
          message = fromBinary(StreamRequestSchema, bytes);
        } catch (err) {
          throw new ConnectError(`malformed request: parse binary: ${(err as Error).message}`, Code.InvalidArgument);
        }
        queued.push(message);
        pump();
      };
      const read = createFrameReader(options.readMaxBytes, deliver);
      stream.on('data', (chunk: Buffer) => {
        if (done || broken) return;
        try {
          read(chunk);
        } catch (err) {
          breakWith(err);
        }
      });
      stream.once('end', () => {
        requestEnded = true;
        if (done || broken) return;
        if (read.partial()) breakWith(new ConnectError('malformed request: protocol error: incomplete envelope', Code.InvalidArgument));
        else pump();
      });
      // The client reset the stream or the connection went away.
      stream.once('close', settle);
    },
  };
}
