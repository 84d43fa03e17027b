// The collector against a real IngestService over gRPC/HTTP/2 on a loopback port: reports stream with
// increasing seqs; while the hub is down they are buffered and replayed in order, with no gap and no
// duplicate, once it is back on the same port; Settings change the interval live; the seq survives a
// restart, and a collector that lost its seq file renumbers instead of colliding with the hub's seqs.
import http2 from 'node:http2';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestService, StreamResponseSchema, type StreamRequest, type StreamResponse } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import type { Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { createCollector, type Collector } from '../../collector/collector.ts';
import { parseCollectorConfig } from '../../collector/config.ts';
import { seqFilePath } from '../../collector/seq-store.ts';
import type { Hello } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { validateHello, validateReport } from '../../hub/validate-report.ts';

/** What the test hub has made "durable": survives a hub restart, like the real hub's history. */
interface HubStore {
  reports: Report[];
  lastSeq: number;
  duplicates: number;
  hellos: Hello[];
  authorization: Array<string | null>;
}

/** A minimal push/pull queue for the response side of the test service. */
function responseQueue() {
  const items: StreamResponse[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  return {
    push(item: StreamResponse) {
      items.push(item);
      wake?.();
    },
    end() {
      done = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (items.length) yield items.shift()!;
        if (done) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}

interface TestHub {
  port: number;
  /** Sends Settings on every open stream. */
  sendSettings(intervalMs: number): void;
  close(): Promise<void>;
}

async function startTestHub(store: HubStore, port = 0): Promise<TestHub> {
  const open = new Set<ReturnType<typeof responseQueue>>();
  const routes = (router: ConnectRouter) =>
    router.service(IngestService, {
      async *stream(requests: AsyncIterable<StreamRequest>, ctx) {
        store.authorization.push(ctx.requestHeader.get('authorization'));
        const out = responseQueue();
        open.add(out);
        const reading = (async () => {
          for await (const req of requests) {
            if (req.kind.case === 'hello') {
              store.hellos.push(req.kind.value);
              out.push(create(StreamResponseSchema, { kind: { case: 'welcome', value: { lastSeq: BigInt(store.lastSeq), settings: { intervalMs: 0 } } } }));
            } else if (req.kind.case === 'report') {
              const seq = Number(req.kind.value.seq);
              if (seq <= store.lastSeq) store.duplicates++;
              else {
                store.reports.push(req.kind.value);
                store.lastSeq = seq;
              }
              out.push(create(StreamResponseSchema, { kind: { case: 'ack', value: { seq: BigInt(store.lastSeq) } } }));
            }
          }
        })().finally(() => out.end());
        try {
          yield* out;
        } finally {
          open.delete(out);
          await reading.catch(() => {});
        }
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    sendSettings(intervalMs) {
      for (const out of open) out.push(create(StreamResponseSchema, { kind: { case: 'settings', value: { intervalMs } } }));
    },
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sessions) s.destroy();
      await closed;
    },
  };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const seqsOf = (reports: Report[]) => reports.map((r) => Number(r.seq));
const consecutive = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('collector ↔ IngestService over gRPC (HTTP/2)', () => {
  let dataDir: string;
  let store: HubStore;
  const toClose: Array<{ close(): Promise<void> }> = [];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sysmonstm-collector-'));
    store = { reports: [], lastSeq: 0, duplicates: 0, hellos: [], authorization: [] };
  });
  afterEach(async () => {
    for (const c of toClose.splice(0).reverse()) await c.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function startCollector(hubPort: number): Collector {
    const config = parseCollectorConfig(
      ['--hub', `http://127.0.0.1:${hubPort}`, '--id', 'test-box', '--interval', '0.1', '--data-dir', dataDir, '--token', 'tok-123', '--label', 'role=test'],
      {},
    );
    const collector = createCollector(config, {
      log: pino({ level: 'silent' }),
      backoff: { baseMs: 50, maxMs: 300, healthyAfterMs: 1000 },
    });
    toClose.push(collector);
    return collector;
  }

  it('streams reports, buffers through a hub outage and replays them in order without gap or duplicate', async () => {
    let hub = await startTestHub(store);
    toClose.push(hub);
    const port = hub.port;
    const collector = startCollector(port);
    await collector.start();

    await waitFor('5 reports', () => store.reports.length >= 5);
    expect(seqsOf(store.reports)).toEqual(consecutive(1, store.reports.length));
    expect(store.hellos[0]).toMatchObject({ machineId: 'test-box', labels: { role: 'test' } });
    expect(store.hellos[0].collectorVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(store.authorization[0]).toBe('Bearer tok-123');
    const first = store.reports[0];
    expect(first).toMatchObject({ machineId: 'test-box', intervalMs: 100, labels: { role: 'test' } });
    expect(first.memory!.totalBytes).toBeGreaterThan(0);
    // What the real hub would check at its boundary: nothing the collector sends is refused.
    expect(validateHello(store.hellos[0])).toBeNull();
    for (const report of store.reports) expect(validateReport(report, Date.now())).toBeNull();

    // Outage: the hub goes away; the collector keeps sampling into its buffer.
    await hub.close();
    toClose.splice(toClose.indexOf(hub), 1);
    const receivedBeforeOutage = store.reports.length;
    await waitFor('reports buffered while the hub is down', () => collector.buffer.size >= 10, 4000);
    expect(store.reports.length).toBe(receivedBeforeOutage);
    expect(collector.client.connected).toBe(false);

    // The hub comes back on the same port: everything buffered is replayed, then live reports follow.
    hub = await startTestHub(store, port);
    toClose.push(hub);
    await waitFor('the replay', () => store.reports.length >= receivedBeforeOutage + 12 && collector.buffer.size <= 1, 6000);
    const seqs = seqsOf(store.reports);
    expect(seqs).toEqual(consecutive(1, seqs.length));
    const timestamps = store.reports.map((r) => Number(r.timestampMs));
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(new Set(timestamps).size).toBe(timestamps.length);
    // Samples taken during the outage kept their own timestamps at the sampling interval: no gap the
    // length of the outage (a tick may run late on a loaded machine, hence the slack).
    const gaps = timestamps.slice(1).map((t, i) => t - timestamps[i]);
    expect(Math.max(...gaps)).toBeLessThan(600);
    expect(store.hellos.length).toBeGreaterThanOrEqual(2);

    await collector.close();
    await collector.close(); // idempotent
    expect(collector.buffer.size).toBe(0);
  }, 15_000);

  it('applies Settings{interval_ms} from the hub live, and 0 returns to its own interval', async () => {
    const hub = await startTestHub(store);
    toClose.push(hub);
    const collector = startCollector(hub.port);
    await collector.start();
    await waitFor('3 reports', () => store.reports.length >= 3);

    hub.sendSettings(300);
    await waitFor('the new interval', () => collector.intervalMs === 300);
    const from = store.reports.length + 1; // skip the report that may already be in flight
    await waitFor('reports at the new interval', () => store.reports.length >= from + 4, 4000);
    const slow = store.reports.slice(from);
    expect(slow.every((r) => r.intervalMs === 300)).toBe(true);
    const slowGaps = slow.slice(1).map((r, i) => Number(r.timestampMs) - Number(slow[i].timestampMs));
    // Clock-anchored ticks: single gaps may jitter under load, the average may not drift.
    for (const gap of slowGaps) expect(gap).toBeGreaterThan(150);
    const averageGapMs = (Number(slow.at(-1)!.timestampMs) - Number(slow[0].timestampMs)) / (slow.length - 1);
    expect(averageGapMs).toBeGreaterThan(270);
    expect(averageGapMs).toBeLessThan(360);

    hub.sendSettings(0);
    await waitFor('its own interval again', () => collector.intervalMs === 100);
    const from2 = store.reports.length + 1;
    await waitFor('reports at the own interval', () => store.reports.length >= from2 + 4, 4000);
    expect(store.reports.slice(from2).every((r) => r.intervalMs === 100)).toBe(true);
    expect(seqsOf(store.reports)).toEqual(consecutive(1, store.reports.length));
  }, 15_000);

  it('keeps unacked reports in its spool across a restart while the hub is down, and sends them first', async () => {
    const hub = await startTestHub(store);
    toClose.push(hub);
    const port = hub.port;
    const first = startCollector(port);
    await first.start();
    await waitFor('3 reports', () => store.reports.length >= 3);
    await hub.close();
    toClose.splice(toClose.indexOf(hub), 1);
    await waitFor('reports buffered while the hub is down', () => first.buffer.size >= 5, 3000);
    await first.close(); // the hub is away: what is unacked stays on disk
    const unackedAtStop = first.buffer.size;
    const lastAtStop = first.buffer.lastSeq;

    const second = startCollector(port);
    await second.start();
    expect(second.buffer.after(store.lastSeq).map((r) => Number(r.seq))).toEqual(consecutive(store.lastSeq + 1, lastAtStop));
    expect(unackedAtStop).toBeGreaterThanOrEqual(5);
    await waitFor('more reports buffered after the restart', () => second.buffer.lastSeq >= lastAtStop + 3, 3000);
    const hubAgain = await startTestHub(store, port);
    toClose.push(hubAgain);
    await waitFor('the replay from disk', () => store.lastSeq >= lastAtStop + 3 && second.buffer.size <= 1, 5000);
    expect(store.duplicates).toBe(0);
    expect(seqsOf(store.reports)).toEqual(consecutive(1, store.reports.length));
    await second.close();
  }, 15_000);

  it('continues its seq after a restart, and renumbers instead of colliding when the seq file is lost', async () => {
    const hub = await startTestHub(store);
    toClose.push(hub);
    const first = startCollector(hub.port);
    await first.start();
    await waitFor('4 reports', () => store.reports.length >= 4);
    await first.close();
    const afterFirst = store.lastSeq;
    expect(first.buffer.size).toBe(0);

    const second = startCollector(hub.port);
    await second.start();
    await waitFor('reports of the restarted collector', () => store.reports.length >= afterFirst + 3);
    await second.close();
    expect(seqsOf(store.reports)).toEqual(consecutive(1, store.reports.length));
    const afterSecond = store.lastSeq;

    // Lost data dir: the next collector starts from seq 1 while the hub is down, so its first reports
    // collide with seqs the hub holds; the Welcome must make it renumber them after the hub's last seq.
    await rm(seqFilePath(dataDir, 'test-box'));
    const port = hub.port;
    await hub.close();
    toClose.splice(toClose.indexOf(hub), 1);
    const third = startCollector(port);
    await third.start();
    await waitFor('reports buffered before the hub is back', () => third.buffer.size >= 4, 3000);
    expect(Number(third.buffer.pending()[0].seq)).toBe(1);
    const hubAgain = await startTestHub(store, port);
    toClose.push(hubAgain);
    await waitFor('the renumbered replay', () => store.reports.length >= afterSecond + 6 && third.buffer.size <= 1, 5000);
    expect(store.duplicates).toBe(0);
    expect(seqsOf(store.reports)).toEqual(consecutive(1, store.reports.length));
    const timestamps = store.reports.map((r) => Number(r.timestampMs));
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    await third.close();
  }, 15_000);
});
