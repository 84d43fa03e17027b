// Test support for the suites that write history or read the hub's log (history, alerts, faults,
// deploy): a real pino logger whose JSON lines are kept for assertions, history rows with chosen metric
// values, and a TCP proxy to PostgreSQL that a test can cut and restore (a real outage: refused
// connections and dropped sockets, no mocked client).
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { HistoryRow } from '../../hub/history/history-store.ts';
import type { Logger } from '../../hub/log.ts';
import { METRIC_NAMES, type Metrics } from '../../proto/metrics.ts';

export function captureLog(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines: () => lines };
}

export function metrics(values: Partial<Metrics>): Metrics {
  const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, null])) as Metrics;
  return Object.assign(m, values);
}

export function row(machineId: string, seq: number, timeMs: number, cpu: number, extra: Partial<Metrics> = {}): HistoryRow {
  return { machineId, seq, timeMs, metrics: metrics({ cpu_percent: cpu, memory_percent: cpu / 2, ...extra }) };
}

export interface TcpProxy {
  readonly port: number;
  /** Stops accepting and destroys every open connection. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(0);
  const cut = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  };
  return {
    port,
    cut,
    async restore() {
      if (!server.listening) await listen(port);
    },
    close: cut,
  };
}
