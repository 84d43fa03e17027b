// The gRPC port's flow control (hub/grpc-flow-control.ts) on a real HTTP/2 server and client: the
// connection window is raised, and a stream the server does not read still stops its sender at the
// stream window, so the hub holds at most 64 KiB unread per stream.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { applyConnectionWindow, GRPC_CONNECTION_WINDOW_BYTES, GRPC_STREAM_WINDOW_BYTES, grpcServerSettings } from '../../hub/grpc-flow-control.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function serverAndClient(onStream: (stream: http2.ServerHttp2Stream) => void) {
  const server = http2.createServer({ settings: grpcServerSettings });
  applyConnectionWindow(server);
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  closers.push(() => {
    client.destroy();
    server.close();
  });
  await new Promise<void>((resolve, reject) => client.once('remoteSettings', () => resolve()).once('error', reject));
  return { server, client };
}

const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('gRPC flow control', () => {
  it('announces the stream window and grants the client the larger connection window', async () => {
    const { client } = await serverAndClient((s) => s.respond());
    expect(client.remoteSettings.initialWindowSize).toBe(GRPC_STREAM_WINDOW_BYTES);
    expect(client.remoteSettings.maxConcurrentStreams).toBe(100);
    await until(() => client.state.remoteWindowSize === GRPC_CONNECTION_WINDOW_BYTES);
    expect(client.state.remoteWindowSize).toBe(GRPC_CONNECTION_WINDOW_BYTES);
  });

  it('stops the sender of an unread stream at the stream window, and lets it go on once read', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const { client } = await serverAndClient((s) => {
      s.pause(); // the hub does not read: nothing may pile up beyond the stream window
      held.push(s);
    });
    await until(() => client.state.remoteWindowSize === GRPC_CONNECTION_WINDOW_BYTES);
    const streams = [0, 1, 2].map(() => client.request({ ':path': '/x', ':method': 'POST' }));
    const chunk = Buffer.alloc(200 * 1024, 1);
    for (const s of streams) s.write(chunk);
    await until(() => held.length === 3);
    await new Promise((r) => setTimeout(r, 300));
    // What left the client (connection window used) is at most one stream window per stream.
    const inFlight = GRPC_CONNECTION_WINDOW_BYTES - client.state.remoteWindowSize!;
    expect(inFlight).toBeGreaterThan(0);
    expect(inFlight).toBeLessThanOrEqual(3 * GRPC_STREAM_WINDOW_BYTES);
    for (const s of streams) expect(s.writableLength).toBeGreaterThan(0);

    // Reading one stream credits its window back: its whole 200 KiB arrives.
    let received = 0;
    held[0]!.on('data', (d: Buffer) => (received += d.length));
    held[0]!.resume();
    await until(() => received >= chunk.length);
    expect(received).toBe(chunk.length);
  });
});
