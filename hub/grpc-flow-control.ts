// HTTP/2 flow control on the gRPC port: the backpressure that slows a collector the hub cannot keep up
// with. What the hub holds unread is bounded twice:
// - per stream by the stream window, GRPC_STREAM_WINDOW_BYTES (64 KiB, HTTP/2's default, unchanged):
//   all streams together hold at most 64 KiB × open streams (≤ 625 MiB at 10,000 machines, one stream
//   each — the same bound as before);
// - per connection by the connection window, GRPC_CONNECTION_WINDOW_BYTES (1 MiB instead of the 64 KiB
//   default): it never adds to the per-stream bound above, it only stops a connection that carries many
//   streams (up to maxConcurrentStreams = 100: an edge relay, a load generator) from sharing 64 KiB
//   between all of them — less than one report per stream in flight, which capped ingest at ~8–10k
//   reports/s on a 2-core box (bench/RESULTS.md, "HTTP/2 settings and the state copy (A/B)").
// The window is credited back as the hub reads a stream (Node's http2), so an unread stream stops its
// sender at its stream window.
import type http2 from 'node:http2';

/** Bytes one stream may have in flight to the hub (HTTP/2's default initial window). */
export const GRPC_STREAM_WINDOW_BYTES = 65_535;
/** Bytes one connection may have in flight to the hub, all of its streams together. */
export const GRPC_CONNECTION_WINDOW_BYTES = 1024 * 1024;
/** Streams one connection may hold open (a collector needs one). */
export const GRPC_MAX_STREAMS_PER_CONNECTION = 100;

/** The SETTINGS the gRPC server announces. */
export const grpcServerSettings: http2.Settings = {
  maxConcurrentStreams: GRPC_MAX_STREAMS_PER_CONNECTION,
  initialWindowSize: GRPC_STREAM_WINDOW_BYTES,
};

/** Raises each new session's connection window to GRPC_CONNECTION_WINDOW_BYTES. */
export function applyConnectionWindow(server: http2.Http2Server | http2.Http2SecureServer, windowBytes = GRPC_CONNECTION_WINDOW_BYTES): void {
  server.on('session', (session: http2.ServerHttp2Session) => {
    const raise = () => {
      if (!session.destroyed) session.setLocalWindowSize(windowBytes);
    };
    if (session.connecting) session.once('connect', raise);
    else raise();
  });
}
