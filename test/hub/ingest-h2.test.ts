// hub/ingest-h2.ts: IngestService.Stream over plain gRPC without Connect's server pipeline. The frame
// reader on arbitrary chunk boundaries; then a real HTTP/2 server (the ingest service on memory state,
// the lean path in front of Connect's adapter as hub.ts wires it) and real clients: the collector's own
// gRPC transport, Connect-protocol and compressed gRPC clients (served by Connect), history
// backpressure pausing the stream, a client that does not read its responses, a client that resets,
// a Redis that cannot be reached (UNAVAILABLE, as on the Connect path), and the hub closing.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { compressionGzip, connectNodeAdapter, createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createFrameReader, createIngestH2, frameMessage, parseGrpcTimeout } from '../../hub/ingest-h2.ts';
import { createIngestService, type HistorySink } from '../../hub/ingest-service.ts';
import { createRedisGateway } from '../../hub/redis.ts';
import { createRoutes } from '../../hub/routes.ts';
import { createFleetQuery } from '../../hub/fleet/fleet-query.ts';
import { createFleetService } from '../../hub/fleet-service.ts';
import { grpcErrorInterceptor } from '../../hub/grpc-errors.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { createRedisState } from '../../hub/state/redis-state.ts';
import type { StateStore } from '../../hub/state/state-store.ts';
import { ProcessInfoSchema, ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { IngestService, StreamRequestSchema, StreamResponseSchema, type StreamRequest, type StreamResponse } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { freePort, REDIS_URL, redisPrefix } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';
import { requestQueue } from '../support/request-queue.ts';
import { rawGrpcCall } from '../bad-input/raw-grpc.ts';

const log = pino({ level: 'silent' });
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('createFrameReader', () => {
  const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(7), new Uint8Array([9])];
  const wire = Buffer.concat(frames.map((f) => frameMessage(f)));

  it('gives the same messages whatever the chunk boundaries', () => {
    for (let trial = 0; trial < 200; trial++) {
      const got: number[][] = [];
      const read = createFrameReader(1 << 20, (m) => got.push([m.length, m[0] ?? -1]));
      let at = 0;
      while (at < wire.length) {
        const size = trial % 3 === 0 ? 1 + Math.floor(Math.random() * 7) : 1 + Math.floor(Math.random() * 20_000);
        read(wire.subarray(at, at + size));
        at += size;
      }
      expect(got).toEqual(frames.map((f) => [f.length, f[0] ?? -1]));
      expect(read.partial()).toBe(false);
    }
  });

  it('says when a message has begun and not ended', () => {
    const read = createFrameReader(1 << 20, () => {});
    read(wire.subarray(0, 3));
    expect(read.partial()).toBe(true);
  });

  it('refuses a length over the cap from its prefix alone, and a compressed or unknown flag', () => {
    const read = createFrameReader(1000, () => {});
    const over = Buffer.from([0, 0, 0, 0x03, 0xe9]); // 1001 bytes announced, none sent
    expect(() => read(over)).toThrow(/message size 1001 is larger than configured readMaxBytes 1000/);
    expect(() => createFrameReader(1000, () => {})(Buffer.from([1, 0, 0, 0, 0]))).toThrow(/compressed envelope/);
    expect(() => createFrameReader(1000, () => {})(Buffer.from([0x80, 0, 0, 0, 0]))).toThrow(/invalid message flags 128/);
  });
});

describe('parseGrpcTimeout', () => {
  it('reads the units of gRPC over HTTP/2, and refuses anything else', () => {
    expect(parseGrpcTimeout('20S')).toBe(20_000);
    expect(parseGrpcTimeout('1500m')).toBe(1500);
    expect(parseGrpcTimeout('2M')).toBe(120_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('5000u')).toBe(5);
    for (const bad of ['', '10', 'S', '123456789S', '1.5S', '-1S', '10s']) expect(parseGrpcTimeout(bad)).toHaveProperty('error');
  });
});

interface Served {
  url: string;
  ingest: ReturnType<typeof createIngestService>;
  shutdown: AbortController;
  /** Calls that reached Connect's adapter instead of the lean path. */
  viaConnect: string[];
}

async function serve(options: { state?: StateStore; writer?: HistorySink; responseBufferMaxBytes?: number; maxMachines?: number } = {}): Promise<Served> {
  const state = options.state ?? createMemoryState();
  const ingest = createIngestService({ state, events: createMemoryEvents(log), history: { lastSeq: async () => 0 }, writer: options.writer ?? { add: async () => {} }, log, maxMachines: options.maxMachines ?? 100 });
  const shutdown = new AbortController();
  const connect = connectNodeAdapter({
    routes: createRoutes({ ingest, fleet: createFleetService(createFleetQuery({ state, history: { lastSeq: async () => 0 } as never })) }),
    interceptors: [grpcErrorInterceptor()],
    shutdownSignal: shutdown.signal,
  });
  const lean = createIngestH2({ openStream: ingest.openStream, readMaxBytes: 1 << 20, shutdownSignal: shutdown.signal, log, responseBufferMaxBytes: options.responseBufferMaxBytes });
  const viaConnect: string[] = [];
  const server = http2.createServer((req, res) => {
    if (lean.accepts(req)) lean.handle(req, res);
    else {
      viaConnect.push(String(req.headers['content-type']));
      connect(req, res);
    }
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ingest, shutdown, viaConnect };
}

/** The Hello a collector for `machineId` opens its stream with. */
const helloRequest = (machineId: string) => create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId, hostname: machineId } } });
/** The same as a gRPC frame, for streams written by hand. */
const helloFrame = (machineId: string) => frameMessage(toBinary(StreamRequestSchema, helloRequest(machineId)));

async function* hello(machineId: string, reports = 0): AsyncGenerator<StreamRequest> {
  yield helloRequest(machineId);
  for (let seq = 1; seq <= reports; seq++) yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machineId, seq, Date.now()) } });
}

async function call(transport: Transport, requests: AsyncIterable<StreamRequest>): Promise<{ responses: StreamResponse[]; code: string; message: string }> {
  const responses: StreamResponse[] = [];
  try {
    for await (const res of createClient(IngestService, transport).stream(requests)) responses.push(res);
    return { responses, code: 'OK', message: '' };
  } catch (err) {
    const e = ConnectError.from(err);
    return { responses, code: Code[e.code], message: e.rawMessage };
  }
}

const ackedSeq = (responses: StreamResponse[]) => Math.max(0, ...responses.filter((r) => r.kind.case === 'ack').map((r) => Number((r.kind.value as { seq: bigint }).seq)));

/**
 * After a stream for `ghost` ended during its hello: it holds no place (a real machine still fits
 * under MAX_MACHINES 1, once `settleMs` passed) and settings for the ghost go nowhere.
 */
async function expectNoPlaceKept(s: Served, ghost: string, real: string, settleMs: number): Promise<void> {
  await expect.poll(() => s.ingest.stats.streamsOpen).toBe(0);
  await new Promise((r) => setTimeout(r, settleMs));
  const answer = await call(createGrpcTransport({ baseUrl: s.url }), hello(real, 1));
  expect([answer.code, answer.message, ackedSeq(answer.responses)]).toEqual(['OK', '', 1]);
  expect(s.ingest.pushSettings(ghost, { intervalMs: 5000 })).toBe(false);
}

describe('the lean ingest path on a real HTTP/2 server', () => {
  it("serves the collector's gRPC transport; Connect-protocol and compressed calls still reach Connect", async () => {
    const s = await serve();
    const grpc = await call(createGrpcTransport({ baseUrl: s.url }), hello('lean-1', 50));
    expect(grpc.code).toBe('OK');
    expect(grpc.responses[0].kind.case).toBe('welcome');
    expect(ackedSeq(grpc.responses)).toBe(50);
    expect(s.viaConnect).toEqual([]);

    const connectProtocol = await call(createConnectTransport({ baseUrl: s.url, httpVersion: '2' }), hello('lean-2', 5));
    const gzip = await call(createGrpcTransport({ baseUrl: s.url, sendCompression: compressionGzip }), hello('lean-3', 5));
    expect([connectProtocol.code, ackedSeq(connectProtocol.responses), gzip.code, ackedSeq(gzip.responses)]).toEqual(['OK', 5, 'OK', 5]);
    expect(s.viaConnect).toEqual(['application/connect+proto', 'application/grpc+proto']); // gzip: grpc-encoding set, so Connect
    expect(s.ingest.stats).toMatchObject({ reportsAccepted: 60, streamsOpen: 0 });
  });

  it('a grpc-timeout ends the stream DEADLINE_EXCEEDED; a malformed one is INVALID_ARGUMENT', async () => {
    const s = await serve();
    const { requests, push } = requestQueue<StreamRequest>();
    push(helloRequest('late-1'));
    const started = Date.now();
    const responses: StreamResponse[] = [];
    const err = await (async () => {
      for await (const r of createClient(IngestService, createGrpcTransport({ baseUrl: s.url })).stream(requests(), { timeoutMs: 400 })) responses.push(r);
    })().catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(responses[0]?.kind.case).toBe('welcome');
    await expect.poll(() => s.ingest.stats.streamsOpen).toBe(0);

    const bad = await rawGrpcCall(s.url, '/sysmonstm.v1.IngestService/Stream', frameMessage(new Uint8Array()), { headers: { 'grpc-timeout': 'soon' } });
    expect([bad.grpcStatus, bad.grpcMessage]).toEqual([Code.InvalidArgument, 'protocol error: invalid grpc timeout value: soon']);
    expect(s.viaConnect).toEqual([]);
  });

  it('a grpc-timeout past what a Node timer holds (600H: 25 days) is no deadline now', async () => {
    const s = await serve();
    const client = http2.connect(s.url);
    closers.push(() => void client.destroy());
    const req = client.request({ ':method': 'POST', ':path': '/sysmonstm.v1.IngestService/Stream', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '600H' });
    req.on('error', () => {});
    req.resume();
    const trailers = new Promise<http2.IncomingHttpHeaders>((r) => req.once('trailers', r));
    req.write(helloFrame('patient-1'));
    const early = await Promise.race([trailers, new Promise((r) => setTimeout(() => r('still open'), 300))]);
    expect(early).toBe('still open');
    req.end();
    expect((await trailers)['grpc-status']).toBe('0');
  });

  it('history backpressure pauses the stream (HTTP/2 flow control holds the sender) and every report goes through once released', async () => {
    let release!: () => void;
    let gate: Promise<void> | undefined = new Promise<void>((r) => (release = r));
    const stored: number[] = [];
    const writer: HistorySink = { add: async (row) => void stored.push(row.seq), ready: () => gate };
    const s = await serve({ writer });
    const { requests, push, end } = requestQueue<StreamRequest>();
    push(helloRequest('held-1'));
    const big = (seq: number) => {
      const r = syntheticReport('held-1', seq, Date.now());
      r.topProcesses = Array.from({ length: 20 }, (_, i) => create(ProcessInfoSchema, { pid: i + 1, name: `proc-${'x'.repeat(60)}-${i}`, user: 'root', cpuPercent: 1, rssBytes: 1e6, state: 'S' }));
      return r;
    };
    const sample = toBinary(StreamRequestSchema, create(StreamRequestSchema, { kind: { case: 'report', value: big(1) } })).length;
    const count = Math.ceil((1024 * 1024) / sample); // ~1 MiB of reports: well past the 64 KiB stream window
    for (let seq = 1; seq <= count; seq++) push(create(StreamRequestSchema, { kind: { case: 'report', value: big(seq) } }));
    end();
    const done = call(createGrpcTransport({ baseUrl: s.url }), requests());
    await new Promise((r) => setTimeout(r, 500));
    // The hub read the hello and nothing more while history is behind.
    expect(s.ingest.stats.reportsAccepted).toBe(0);
    expect(stored).toEqual([]);
    gate = undefined;
    release();
    const result = await done;
    expect(result.code).toBe('OK');
    expect(ackedSeq(result.responses)).toBe(count);
    expect(stored).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('a client that leaves its responses unread is reset past the cap; the hub goes on serving', async () => {
    const s = await serve({ responseBufferMaxBytes: 16 * 1024 });
    const client = http2.connect(s.url);
    closers.push(() => void client.destroy());
    const req = client.request({ ':method': 'POST', ':path': '/sysmonstm.v1.IngestService/Stream', 'content-type': 'application/grpc', te: 'trailers' });
    req.pause(); // never reads: the responses (a reject and an ack per report) pile up at the hub
    const closed = new Promise<number>((r) => req.once('close', () => r(req.rstCode)));
    req.on('error', () => {});
    req.write(helloFrame('deaf-1'));
    for (let seq = 1; seq <= 6000; seq++) {
      const r = syntheticReport('deaf-1', seq, Date.now());
      r.cpu!.totalPercent = 500; // rejected with a reason: ~70 bytes of response each
      if (!req.write(frameMessage(toBinary(StreamRequestSchema, create(StreamRequestSchema, { kind: { case: 'report', value: r } }))))) {
        await Promise.race([new Promise((d) => req.once('drain', d)), closed]);
        if (req.closed) break;
      }
    }
    expect(await closed).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await expect.poll(() => s.ingest.stats.streamsOpen).toBe(0);
    const after = await call(createGrpcTransport({ baseUrl: s.url }), hello('deaf-2', 3));
    expect([after.code, ackedSeq(after.responses)]).toEqual(['OK', 3]);
  });

  it('a client that resets its stream frees it at once', async () => {
    const s = await serve();
    const client = http2.connect(s.url);
    closers.push(() => void client.destroy());
    const req = client.request({ ':method': 'POST', ':path': '/sysmonstm.v1.IngestService/Stream', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    const answered = new Promise((r) => req.once('response', r));
    req.write(helloFrame('gone-1'));
    await answered; // the welcome's headers
    expect(s.ingest.stats.streamsOpen).toBe(1);
    req.close(http2.constants.NGHTTP2_CANCEL);
    await expect.poll(() => s.ingest.stats.streamsOpen).toBe(0);
  });

  it('a Redis that cannot be reached is UNAVAILABLE, as on the Connect path', async () => {
    const redis = createRedisGateway(`redis://127.0.0.1:${await freePort()}`, log);
    closers.push(() => redis.close());
    const s = await serve({ state: createRedisState(redis.command, { prefix: 'lean-test:' }) });
    const res = await call(createGrpcTransport({ baseUrl: s.url }), hello('down-1', 1));
    expect(res.code).toBe('Unavailable');
    expect(res.message).toMatch(/Redis is unavailable/);
  });

  it("on Connect's path too (a compressed call), a deadline ends the stream DEADLINE_EXCEEDED and the hub closing UNAVAILABLE", async () => {
    const s = await serve();
    const gzip = createGrpcTransport({ baseUrl: s.url, sendCompression: compressionGzip });
    const open = (machineId: string, timeoutMs?: number) => {
      const { requests, push } = requestQueue<StreamRequest>();
      push(helloRequest(machineId));
      const responses: StreamResponse[] = [];
      return (async () => {
        for await (const r of createClient(IngestService, gzip).stream(requests(), { timeoutMs })) responses.push(r);
        return { code: 'OK', responses };
      })().catch((e: unknown) => ({ code: Code[ConnectError.from(e).code], message: ConnectError.from(e).rawMessage, responses }));
    };
    const started = Date.now();
    const late = await open('slow-1', 400);
    expect(late.code).toBe('DeadlineExceeded');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(late.responses[0]?.kind.case).toBe('welcome');

    const pending = open('bye-3');
    await expect.poll(() => s.ingest.stats.streamsOpen).toBe(1);
    s.shutdown.abort();
    expect(await pending).toMatchObject({ code: 'Unavailable', message: 'the hub is shutting down; reconnect' });
    expect(s.viaConnect.length).toBe(2);
    await expect.poll(() => s.ingest.stats.streamsOpen).toBe(0);
  });

  it('the hub closing ends every open stream UNAVAILABLE, after what was acked', async () => {
    const s = await serve();
    const { requests, push } = requestQueue<StreamRequest>();
    push(helloRequest('bye-1'));
    push(create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport('bye-1', 1, Date.now()) } }));
    const result = call(createGrpcTransport({ baseUrl: s.url }), requests());
    await expect.poll(() => s.ingest.stats.reportsAccepted).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    s.shutdown.abort();
    const { code, message, responses } = await result;
    expect([code, message]).toEqual(['Unavailable', 'the hub is shutting down; reconnect']);
    expect(ackedSeq(responses)).toBe(1);
    expect(s.ingest.stats.streamsOpen).toBe(0);
    // A stream opened while the hub closes its connections gets the same answer at once.
    const late = await call(createGrpcTransport({ baseUrl: s.url }), hello('bye-2', 1));
    expect([late.code, late.message]).toEqual(['Unavailable', 'the hub is shutting down; reconnect']);
    expect(s.ingest.stats.streamsOpen).toBe(0);
  });

  it('a stream that fails while its hello is being checked (a bad frame right behind it) keeps no MAX_MACHINES place and no live stream', async () => {
    const s = await serve({ maxMachines: 1 });
    const garbage = frameMessage(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]));
    const bad = await rawGrpcCall(s.url, '/sysmonstm.v1.IngestService/Stream', Buffer.concat([helloFrame('ghost-1'), garbage]));
    expect([bad.grpcStatus, bad.grpcMessage]).toEqual([Code.InvalidArgument, expect.stringMatching(/malformed request: parse binary/)]);
    await expectNoPlaceKept(s, 'ghost-1', 'real-1', 50);
  });

  it('a client that resets right after its hello (state in Redis: the checks take a round trip) keeps no MAX_MACHINES place', async () => {
    const redis = createRedisGateway(REDIS_URL, log);
    const keys = redisPrefix();
    closers.push(async () => {
      await keys.cleanup();
      await redis.close();
    });
    const s = await serve({ state: createRedisState(redis.command, { prefix: keys.prefix }), maxMachines: 1 });
    const client = http2.connect(s.url);
    closers.push(() => void client.destroy());
    const req = client.request({ ':method': 'POST', ':path': '/sysmonstm.v1.IngestService/Stream', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    req.write(helloFrame('reset-1'));
    setImmediate(() => req.close(http2.constants.NGHTTP2_CANCEL));
    await new Promise((r) => req.once('close', r));
    await expectNoPlaceKept(s, 'reset-1', 'real-2', 200);
  });

  it('a broken frame behind messages the hub holds (hello checks, history backpressure) ends the stream only after they are handled, as on the Connect path', async () => {
    let release!: () => void;
    let gate: Promise<void> | undefined;
    const stored: string[] = [];
    const s = await serve({ writer: { add: async (row) => void stored.push(`${row.machineId}:${row.seq}`), ready: () => gate } });
    const frame = (req: MessageInitShape<typeof StreamRequestSchema>) => frameMessage(toBinary(StreamRequestSchema, create(StreamRequestSchema, req)));
    const garbage = frameMessage(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]));
    const kinds = (body: Buffer) => {
      const out: string[] = [];
      for (let at = 0; at < body.length; at += 5 + body.readUInt32BE(at + 1)) out.push(String(fromBinary(StreamResponseSchema, body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1))).kind.case));
      return out;
    };
    const results = [];
    // grpc-encoding set (messages left uncompressed): Connect serves the call; without it, the lean path.
    for (const [id, headers] of [['broken-connect', { 'grpc-encoding': 'gzip' }], ['broken-lean', undefined]] as const) {
      gate = new Promise<void>((r) => (release = r)); // history is behind once the hello is in
      const body = Buffer.concat([
        helloFrame(id),
        frame({ kind: { case: 'report', value: syntheticReport(id, 1, Date.now()) } }),
        frame({ kind: { case: 'report', value: syntheticReport(id, 2, Date.now()) } }),
        garbage,
      ]);
      const answer = rawGrpcCall(s.url, '/sysmonstm.v1.IngestService/Stream', body, { headers });
      await new Promise((r) => setTimeout(r, 200));
      gate = undefined;
      release();
      const res = await answer;
      results.push([res.grpcStatus, res.grpcMessage, kinds(res.body)]);
    }
    expect(s.viaConnect).toEqual(['application/grpc+proto']);
    expect(results[1]).toEqual(results[0]);
    expect(results[1]).toEqual([Code.InvalidArgument, expect.stringMatching(/^malformed request: parse binary/), ['welcome']]);
    expect(stored).toEqual(['broken-connect:1', 'broken-connect:2', 'broken-lean:1', 'broken-lean:2']);
  });
});

describe('the state copy of a report over the lean path', () => {
  /** Tag bytes, a varint length, the payload. */
  const field = (tag: number[], payload: Uint8Array) => {
    const len: number[] = [];
    for (let n = payload.length; ; n >>>= 7) {
      if (n < 0x80) {
        len.push(n);
        break;
      }
      len.push((n & 0x7f) | 0x80);
    }
    return Buffer.concat([Buffer.from(tag), Buffer.from(len), payload]);
  };
  const text = (s: string) => Buffer.from(s, 'utf8');

  /** Streams the hello and the given StreamRequest payloads (raw bytes) over plain gRPC; waits for the end. */
  async function send(url: string, machineId: string, requests: Uint8Array[]): Promise<void> {
    const raw = await rawGrpcCall(url, '/sysmonstm.v1.IngestService/Stream', Buffer.concat([helloFrame(machineId), ...requests.map((b) => frameMessage(b))]));
    expect(raw.grpcStatus, raw.grpcMessage).toBe(0); // OK
  }

  it('keeps what the hub made of the report: neutralised names, carried processes', async () => {
    const state = createMemoryState();
    const s = await serve({ state });
    const now = Date.now();
    const first = syntheticReport('kept-1', 1, now - 2000);
    first.topProcesses = [create(ProcessInfoSchema, { pid: 7, name: 'postgres', user: 'pg', cpuPercent: 3, rssBytes: 1e6, state: 'S' })];
    const second = syntheticReport('kept-1', 2, now - 1000); // no processes: the first's are carried into it
    second.filesystems[0].mount = '/da\u200bta'; // neutralised
    const request = (r: ReturnType<typeof syntheticReport>) => toBinary(StreamRequestSchema, create(StreamRequestSchema, { kind: { case: 'report', value: r } }));
    await send(s.url, 'kept-1', [request(first), request(second)]);
    const latest = fromBinary(ReportSchema, (await state.latestReport('kept-1'))!);
    expect(latest.seq).toBe(2n);
    expect(latest.filesystems[0].mount).toBe('/data');
    expect(latest.topProcesses.map((p) => p.name)).toEqual(['postgres']);
  });

  it('keeps nothing that decoding drops: a third field in a map entry, the earlier value of a field sent twice', async () => {
    const state = createMemoryState();
    const s = await serve({ state });
    const SECRET = 'collector-invented-0123456789';
    const base = toBinary(ReportSchema, syntheticReport('junk-1', 1, Date.now()));
    // Report.labels (field 20) entry {1: "env", 2: "prod", 3: SECRET}; Report.hostname (field 4) sent first with a BEL, then the real one
    const entry = Buffer.concat([field([0x0a], text('env')), field([0x12], text('prod')), field([0x1a], text(SECRET))]);
    const report = Buffer.concat([field([0x22], text(`evil\u202e\u0007${SECRET}`)), base, field([0xa2, 0x01], entry)]);
    await send(s.url, 'junk-1', [field([0x12], report)]);
    const stored = await state.latestReport('junk-1');
    expect(stored).toBeDefined();
    expect(Buffer.from(stored!).includes(text(SECRET))).toBe(false);
    const kept = fromBinary(ReportSchema, stored!);
    expect(kept.hostname).toBe('junk-1.local');
    expect(kept.labels).toEqual({ env: 'prod' });
  });
});
