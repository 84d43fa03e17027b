// Connection exhaustion on the gRPC port, with real sockets on loopback against real hubs (caps
// lowered in their config so the counts stay small): raw TCP connections that never send the HTTP/2
// preface are closed after GRPC_HANDSHAKE_TIMEOUT; an HTTP/2 session without streams after
// GRPC_IDLE_TIMEOUT; connections beyond GRPC_MAX_CONNECTIONS_PER_PEER and GRPC_MAX_CONNECTIONS are
// closed at once — and while an attacker holds what it may, /health answers and a real collector
// streams and gets its acks. Attackers use other loopback addresses (127.0.0.2 ...) as their source.
import http2 from 'node:http2';
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let quick: Hub; // short timeouts
let capped: Hub; // long timeouts, low caps
const dirs = [tempDir('conn-quick'), tempDir('conn-capped')];
const sockets: net.Socket[] = [];

/** A raw TCP connection from `localAddress`; `closed` resolves with the ms from connect to close. */
function rawSocket(port: number, localAddress: string): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    socket.on('error', () => {});
    socket.resume(); // read, so the hub's close is seen
    socket.once('connect', () => {
      const t0 = performance.now();
      resolve({ socket, closed: new Promise((r) => socket.once('close', () => r(performance.now() - t0))) });
    });
    socket.once('error', reject);
  });
}

const stillOpen = (closed: Promise<number>, ms: number) => Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), ms))]);
const connStats = (hub: Hub) => (hub.stats() as { grpcConnections: { connectionsOpen: number; connectionsRefused: number; handshakeTimeouts: number; idleTimeouts: number } }).grpcConnections;

beforeAll(async () => {
  db = await createTestDatabase();
  const base = { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05' };
  quick = await startHub(parseHubConfig([], { ...base, DATA_DIR: dirs[0].path, GRPC_HANDSHAKE_TIMEOUT: '0.5', GRPC_IDLE_TIMEOUT: '1' }), { log: pino({ level: 'silent' }) });
  capped = await startHub(
    parseHubConfig([], { ...base, DATA_DIR: dirs[1].path, GRPC_HANDSHAKE_TIMEOUT: '30', GRPC_IDLE_TIMEOUT: '30', GRPC_MAX_CONNECTIONS: '12', GRPC_MAX_CONNECTIONS_PER_PEER: '5' }),
    { log: pino({ level: 'silent' }) },
  );
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await quick?.close();
  await capped?.close();
  await db?.drop();
  for (const d of dirs) d.remove();
});

describe('timeouts', () => {
  it('raw TCP connections that never send the HTTP/2 preface are closed after GRPC_HANDSHAKE_TIMEOUT', async () => {
    const conns = await Promise.all(Array.from({ length: 5 }, () => rawSocket(quick.grpcPort, '127.0.0.2')));
    const closedAfter = await Promise.all(conns.map((c) => Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 5000))])));
    for (const ms of closedAfter) {
      expect(ms).toBeGreaterThanOrEqual(400);
      expect(ms).toBeLessThan(3000);
    }
    expect(connStats(quick).handshakeTimeouts).toBeGreaterThanOrEqual(5);
  });

  it('an HTTP/2 session that opens no stream is closed after GRPC_IDLE_TIMEOUT', async () => {
    const session = http2.connect(`http://127.0.0.1:${quick.grpcPort}`, { localAddress: '127.0.0.3' } as http2.SecureClientSessionOptions);
    session.on('error', () => {});
    const t0 = performance.now();
    await new Promise<void>((r) => session.once('remoteSettings', () => r()));
    const closedAfter = await Promise.race([new Promise<number>((r) => session.once('close', () => r(performance.now() - t0))), new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 6000))]);
    expect(closedAfter).toBeGreaterThanOrEqual(900);
    expect(closedAfter).toBeLessThan(4000);
    expect(connStats(quick).idleTimeouts).toBeGreaterThanOrEqual(1);
  });

  it('a collector with a stream open is not idle: it keeps streaming past the idle timeout', async () => {
    const s = openSyntheticSession(`http://127.0.0.1:${quick.grpcPort}`, 'steady-1');
    for (let seq = 1; seq <= 4; seq++) {
      s.send(syntheticReport('steady-1', seq, Date.now()));
      await new Promise((r) => setTimeout(r, 500));
    }
    await waitFor('acked', () => s.acked() === 4);
    await s.finish();
  });
});

describe('caps', () => {
  it('per peer and in total: one more is closed at once, while /health and a real collector keep working', async () => {
    // One attacker address: 5 held, 5 more closed at once.
    const first = await Promise.all(Array.from({ length: 10 }, () => rawSocket(capped.grpcPort, '127.0.0.2')));
    const openAfter = await Promise.all(first.map((c) => stillOpen(c.closed, 500)));
    expect(openAfter.filter(Boolean).length).toBe(5);
    expect(connStats(capped).connectionsRefused).toBe(5);

    // The hub still serves: /health, and a collector from another address streams and is acked.
    expect((await fetch(`http://127.0.0.1:${capped.httpPort}/health`)).status).toBe(200);
    const collector = openSyntheticSession(`http://127.0.0.1:${capped.grpcPort}`, 'real-1');
    for (let seq = 1; seq <= 3; seq++) collector.send(syntheticReport('real-1', seq, Date.now()));
    await waitFor('collector acked', () => collector.acked() === 3);

    // More addresses fill the total cap (12 = 5 + 1 collector + 5 + 1); the next connection is closed at once.
    const second = await Promise.all(Array.from({ length: 5 }, () => rawSocket(capped.grpcPort, '127.0.0.3')));
    const third = await rawSocket(capped.grpcPort, '127.0.0.4');
    expect(await Promise.all([...second, third].map((c) => stillOpen(c.closed, 300)))).toEqual(Array(6).fill(true));
    expect(connStats(capped).connectionsOpen).toBe(12);
    const beyond = await rawSocket(capped.grpcPort, '127.0.0.5');
    expect(await beyond.closed).toBeLessThan(500);
    expect(connStats(capped).connectionsRefused).toBe(6);

    // The collector's open stream is unaffected; /health too.
    collector.send(syntheticReport('real-1', 4, Date.now()));
    await waitFor('collector acked again', () => collector.acked() === 4);
    expect((await fetch(`http://127.0.0.1:${capped.httpPort}/health`)).status).toBe(200);
    await collector.finish();

    // Once the attacker lets go, new connections are accepted again.
    for (const c of [...first, ...second, third]) c.socket.destroy();
    await waitFor('released', () => connStats(capped).connectionsOpen <= 1);
    const later = openSyntheticSession(`http://127.0.0.1:${capped.grpcPort}`, 'real-1');
    later.send(syntheticReport('real-1', 5, Date.now()));
    await waitFor('acked after release', () => later.acked() === 5);
    await later.finish();
  });
});
