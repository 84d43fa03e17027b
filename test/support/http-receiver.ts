// A local HTTP receiver on 127.0.0.1 for notification tests: records every request (headers and the raw
// body) and answers as told — 200, a status, fail N times then succeed, or never answer at all.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  atMs: number;
}

export type Behaviour = { kind: 'ok' } | { kind: 'status'; status: number } | { kind: 'fail-then-ok'; failures: number; status?: number } | { kind: 'hang' };

export interface HttpReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  setBehaviour(b: Behaviour): void;
  close(): Promise<void>;
}

export async function startHttpReceiver(initial: Behaviour = { kind: 'ok' }): Promise<HttpReceiver> {
  let behaviour = initial;
  let failuresLeft = initial.kind === 'fail-then-ok' ? initial.failures : 0;
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), atMs: Date.now() });
      if (behaviour.kind === 'hang') return; // never answers
      if (behaviour.kind === 'status') return void res.writeHead(behaviour.status).end('nope');
      if (behaviour.kind === 'fail-then-ok' && failuresLeft > 0) {
        failuresLeft--;
        return void res.writeHead(behaviour.status ?? 503).end('try later');
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBehaviour(b) {
      behaviour = b;
      failuresLeft = b.kind === 'fail-then-ok' ? b.failures : 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
