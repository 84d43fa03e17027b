// Limits on the gRPC port's connections, so nobody can hold the hub's file descriptors or memory with
// connections that do nothing:
// - a connection that has not sent the HTTP/2 preface and SETTINGS within GRPC_HANDSHAKE_TIMEOUT is
//   closed (with TLS, the TLS handshake gets the same time: `handshakeTimeout`);
// - a session without any open stream for GRPC_IDLE_TIMEOUT is closed (a collector always holds its
//   ingest stream; a dashboard client reconnects on its next call);
// - at most GRPC_MAX_CONNECTIONS_PER_PEER connections per peer address (IPv6 counted per /64, since
//   one host usually owns a whole /64) and GRPC_MAX_CONNECTIONS in total: one more is closed at once,
//   before any byte is read.
// The decision (`admitConnection`, `peerKey`) is pure; `limitConnections` is the socket shell.
import type http2 from 'node:http2';
import { isIPv6, type Socket } from 'node:net';
import type { Logger } from './log.ts';

export interface ConnectionLimits {
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerPeer: number;
}

export interface ConnectionStats {
  connectionsOpen: number;
  connectionsRefused: number;
  handshakeTimeouts: number;
  idleTimeouts: number;
}

/** The key a peer's connections are counted under: the IPv4 address, or the /64 of an IPv6 one. */
export function peerKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (address.startsWith('::ffff:') && !isIPv6(address.slice(7))) return address.slice(7);
  if (!isIPv6(address)) return address;
  // Expand "::" to get the first four groups.
  const [head, tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** null when a new connection from `key` may open, else why not. Pure. */
export function admitConnection(open: { total: number; byPeer: number }, limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerPeer'>): string | null {
  if (open.total >= limits.maxConnections) return `the hub holds its limit of ${limits.maxConnections} gRPC connections (GRPC_MAX_CONNECTIONS)`;
  if (open.byPeer >= limits.maxConnectionsPerPeer) return `this address holds its limit of ${limits.maxConnectionsPerPeer} gRPC connections (GRPC_MAX_CONNECTIONS_PER_PEER)`;
  return null;
}

/** Applies the limits to an HTTP/2 server (plaintext or TLS). Call before it listens. */
export function limitConnections(server: http2.Http2Server | http2.Http2SecureServer, limits: ConnectionLimits, log: Logger): ConnectionStats {
  const stats: ConnectionStats = { connectionsOpen: 0, connectionsRefused: 0, handshakeTimeouts: 0, idleTimeouts: 0 };
  const byPeer = new Map<string, number>();
  let lastRefusalLogMs = 0;

  // 'connection' is the raw TCP socket, before TLS and before HTTP/2 reads anything.
  server.on('connection', (socket: Socket) => {
    const key = peerKey(socket.remoteAddress);
    const refusal = admitConnection({ total: stats.connectionsOpen, byPeer: byPeer.get(key) ?? 0 }, limits);
    if (refusal) {
      stats.connectionsRefused++;
      const nowMs = Date.now();
      if (nowMs - lastRefusalLogMs > 10_000) {
        lastRefusalLogMs = nowMs;
        log.warn({ peer: key, refusedSoFar: stats.connectionsRefused }, `gRPC connection refused: ${refusal}`);
      }
      socket.destroy();
      return;
    }
    stats.connectionsOpen++;
    byPeer.set(key, (byPeer.get(key) ?? 0) + 1);
    // Until its HTTP/2 session has the peer's SETTINGS (below), this timer closes the raw socket (a
    // session destroyed before the preface keeps its socket open, so the socket itself is closed).
    const endpoint = endpointKey(socket);
    const handshake = setTimeout(() => {
      stats.handshakeTimeouts++;
      socket.destroy();
    }, limits.handshakeTimeoutMs);
    handshake.unref();
    awaitingSettings.set(endpoint, handshake);
    socket.once('close', () => {
      clearTimeout(handshake);
      if (awaitingSettings.get(endpoint) === handshake) awaitingSettings.delete(endpoint);
      stats.connectionsOpen--;
      const left = (byPeer.get(key) ?? 1) - 1;
      if (left <= 0) byPeer.delete(key);
      else byPeer.set(key, left);
    });
  });
  /** Handshake timers by the connection's remote address and port (the session only exposes a proxy of its socket). */
  const awaitingSettings = new Map<string, NodeJS.Timeout>();

  server.on('session', (session: http2.ServerHttp2Session) => {
    let openStreams = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stats.idleTimeouts++;
        session.close();
        // A peer that does not answer the GOAWAY is cut off.
        setTimeout(() => session.destroy(), 1000).unref();
      }, limits.idleTimeoutMs);
      idle.unref();
    };
    const endpoint = endpointKey(session.socket);
    session.once('remoteSettings', () => {
      clearTimeout(awaitingSettings.get(endpoint));
      awaitingSettings.delete(endpoint);
      if (openStreams === 0) armIdle();
    });
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      openStreams++;
      clearTimeout(idle);
      stream.once('close', () => {
        openStreams--;
        if (openStreams === 0 && !session.destroyed && !session.closed) armIdle();
      });
    });
    session.once('close', () => clearTimeout(idle));
  });
  return stats;
}

const endpointKey = (socket: { remoteAddress?: string; remotePort?: number }) => `${socket.remoteAddress}|${socket.remotePort}`;
