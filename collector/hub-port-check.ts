// Why a hub URL can never work, found when the stream to it fails before any Welcome: the URL names
// the hub's dashboard port (HTTP/1.1, 8000) instead of its gRPC port, or says http:// to a gRPC port
// that speaks TLS. Both are slips that no retry fixes, so the collector stops with the fix (exit 2)
// instead of retrying with ERR_HTTP2_ERROR. A probe gathers the facts (I/O); the verdict is pure.
import type * as NodeHttp from 'node:http';
import { isIP } from 'node:net';
import tls from 'node:tls';

export interface HubPortFacts {
  /** A TLS handshake succeeded on the port. */
  tls: boolean;
  /** What a plain HTTP/1.1 GET /health answered, when it did. */
  http1?: { status: number; body: string };
}

export const DEFAULT_GRPC_PORT = 50051;

/** A /health body of a sysmonstm hub: {"status":"ok", "history": …, "state": …}. */
function isHubHealth(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return parsed.status === 'ok' && 'history' in parsed && 'state' in parsed;
  } catch {
    return false;
  }
}

/** The one-line reason this URL cannot be a hub's gRPC port, or undefined when the facts do not say. */
export function diagnoseHubPort(hubUrl: string, facts: HubPortFacts): string | undefined {
  const url = new URL(hubUrl);
  const where = `AGGREGATOR_URL (--hub) ${hubUrl}`;
  if (facts.http1) {
    if (isHubHealth(facts.http1.body)) {
      return `${where}: that is the hub's dashboard port; the gRPC port is ${DEFAULT_GRPC_PORT} (GRPC_PORT on the hub), like ${url.protocol}//${url.hostname}:${DEFAULT_GRPC_PORT}`;
    }
    return `${where}: an HTTP/1.1 server answers there (status ${facts.http1.status}), not the hub's gRPC port (${DEFAULT_GRPC_PORT} by default)`;
  }
  if (url.protocol === 'http:' && facts.tls) {
    url.protocol = 'https:';
    return `${where}: that port speaks TLS (the hub has GRPC_TLS_CERT); use https://, like ${url.origin} (with --hub-ca for a self-signed certificate)`;
  }
  return undefined;
}

function probeTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, ...(isIP(host) ? {} : { servername: host }), rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function probeHttp1(host: string, port: number, timeoutMs: number): Promise<HubPortFacts['http1']> {
  // Not an ESM import: that would read node:http's WebSocket getter and load undici (docker-api.ts).
  const http = process.getBuiltinModule('node:http') as typeof NodeHttp;
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/health', timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Looks at the port of `hubUrl` both ways (a plain HTTP/1.1 request, a TLS handshake). */
export async function probeHubPort(hubUrl: string, timeoutMs = 2000): Promise<HubPortFacts> {
  const url = new URL(hubUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const [tlsOk, http1] = await Promise.all([url.protocol === 'http:' ? probeTls(host, port, timeoutMs) : Promise.resolve(false), probeHttp1(host, port, timeoutMs)]);
  return { tls: tlsOk, http1 };
}
