// The ingest client's reconnect behaviour against peers that misbehave at the TCP level: one that
// accepts and never answers (the Welcome timeout must drop it), and one that refuses every stream
// (reconnects must follow the backoff, whatever new reports arrive meanwhile).
import net from 'node:net';
import { create } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { createIngestClient } from '../../collector/ingest-client.ts';
import { createReportBuffer } from '../../collector/report-buffer.ts';

async function tcpServer(onConnection: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const noop = () => {};
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('ingest client reconnects', () => {
  it('drops a peer that accepts but never sends a Welcome, and tries again', async () => {
    const silent = await tcpServer(noop);
    closers.push(silent.close);
    const client = createIngestClient({
      hubUrl: silent.url,
      hello: { machineId: 'm' },
      buffer: createReportBuffer(10),
      log: pino({ level: 'silent' }),
      onWelcome: noop,
      onSettings: noop,
      welcomeTimeoutMs: 300,
      backoff: { baseMs: 20, maxMs: 50, healthyAfterMs: 10_000 },
    });
    closers.push(() => client.close());
    client.start();
    await new Promise((r) => setTimeout(r, 1200));
    expect(silent.connections()).toBeGreaterThanOrEqual(3);
    expect(client.connected).toBe(false);
  });

  it('waits out the backoff between attempts even while new reports keep arriving', async () => {
    const refusing = await tcpServer((socket) => socket.destroy());
    closers.push(refusing.close);
    const buffer = createReportBuffer(1000);
    const client = createIngestClient({
      hubUrl: refusing.url,
      hello: { machineId: 'm' },
      buffer,
      log: pino({ level: 'silent' }),
      onWelcome: noop,
      onSettings: noop,
      backoff: { baseMs: 400, maxMs: 400, healthyAfterMs: 10_000 },
      random: () => 0.999, // every delay ≈ 400 ms
    });
    closers.push(() => client.close());
    client.start();
    let seq = 0;
    const feeder = setInterval(() => {
      buffer.push(create(ReportSchema, { machineId: 'm', seq: BigInt(++seq) }));
      client.notify();
    }, 20);
    await new Promise((r) => setTimeout(r, 1300));
    clearInterval(feeder);
    // 1 immediate attempt + one per ~400 ms, not one per new report (there were ~60).
    expect(refusing.connections()).toBeGreaterThanOrEqual(2);
    expect(refusing.connections()).toBeLessThanOrEqual(5);
    expect(buffer.size).toBe(seq); // nothing lost while the hub refuses
  });
});
