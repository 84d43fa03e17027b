// Bad input at the hub's gRPC port, against a real hub (memory state, history in PostgreSQL): raw
// HTTP/2 with malformed, truncated, lying and oversized frames; hostile hellos and reports; wrong and
// missing tokens; replayed and conflicting sequences; 3,000 fake machines against MAX_MACHINES. Each
// gets a precise gRPC status (or a reject with a reason), and afterwards the hub still takes a good
// collector, answers its APIs, and history holds nothing malformed and no seq twice.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { HelloSchema, IngestService, StreamRequestSchema, type StreamRequest, type StreamResponse } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { createTestDatabase, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';
import { grpcFrame, rawGrpcCall } from './raw-grpc.ts';

const STREAM = '/sysmonstm.v1.IngestService/Stream';
const MAX_MACHINES = 60;
const TOKEN = 'collector-token-for-tests-0001';
const WEB_TOKEN = 'token-of-web-01-abcdefghijkl';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let hub: Hub; // open: no token
let guarded: Hub; // COLLECTOR_TOKEN + COLLECTOR_TOKENS_FILE
const dir = tempDir('grpc-input');
const dir2 = tempDir('grpc-input-guarded');

type HelloInit = MessageInitShape<typeof HelloSchema>;

/** One stream: hello, then the reports; collects the answers and the final status code. */
async function stream(
  target: Hub | Transport,
  hello: HelloInit,
  reports: Report[] = [],
  headers?: Record<string, string>,
): Promise<{ responses: StreamResponse[]; code: string; message: string }> {
  const transport = 'grpcPort' in target ? createGrpcTransport({ baseUrl: `http://127.0.0.1:${target.grpcPort}` }) : target;
  const client = createClient(IngestService, transport);
  async function* requests(): AsyncGenerator<StreamRequest> {
    yield create(StreamRequestSchema, { kind: { case: 'hello', value: create(HelloSchema, hello) } });
    for (const report of reports) yield create(StreamRequestSchema, { kind: { case: 'report', value: report } });
  }
  const responses: StreamResponse[] = [];
  try {
    for await (const res of client.stream(requests(), { headers, timeoutMs: 20_000 })) responses.push(res);
    return { responses, code: 'OK', message: '' };
  } catch (err) {
    const e = ConnectError.from(err);
    return { responses, code: Code[e.code], message: e.rawMessage };
  }
}

const seqsOf = async (machine: string) =>
  (await pool.query<{ seq: string }>('SELECT seq FROM metrics WHERE machine_id = $1 ORDER BY seq, time', [machine])).rows.map((r) => Number(r.seq));

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const base = { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05', MAX_MACHINES: String(MAX_MACHINES) };
  hub = await startHub(parseHubConfig([], { ...base, DATA_DIR: dir.path }), { log: pino({ level: 'silent' }) });
  const tokensFile = path.join(dir2.path, 'collector-tokens');
  writeFileSync(tokensFile, `# machine token\nweb-01 ${WEB_TOKEN}\n`);
  guarded = await startHub(parseHubConfig([], { ...base, DATA_DIR: dir2.path, COLLECTOR_TOKEN: TOKEN, COLLECTOR_TOKENS_FILE: tokensFile }), {
    log: pino({ level: 'silent' }),
  });
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await guarded?.close();
  await pool?.end();
  await db?.drop();
  dir.remove();
  dir2.remove();
});

describe('raw HTTP/2 frames', () => {
  const hello = toBinary(StreamRequestSchema, create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: 'raw-1' } } }));
  it.each<[string, () => Buffer, Record<string, string> | undefined, number, RegExp]>([
    ['garbage protobuf', () => grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01])), undefined, Code.InvalidArgument, /malformed request: parse binary/],
    ['a frame cut short (length says 100, 10 bytes follow)', () => grpcFrame(Buffer.alloc(10), { length: 100 }), undefined, Code.InvalidArgument, /incomplete envelope/],
    ['half a frame header', () => Buffer.from([0, 0, 0]), undefined, Code.InvalidArgument, /incomplete envelope/],
    ['a compressed flag without compression', () => grpcFrame(hello, { compressed: true }), undefined, Code.InvalidArgument, /compressed envelope/],
    ['an unknown compression', () => grpcFrame(hello, { compressed: true }), { 'grpc-encoding': 'br' }, Code.InvalidArgument, /decompression failed/],
    ['a length prefix of 2 GiB', () => grpcFrame(Buffer.alloc(10), { length: 0x7fffffff }), undefined, Code.ResourceExhausted, /larger than configured readMaxBytes 1048576/],
    ['a real 2 MiB message', () => grpcFrame(Buffer.alloc(2 * 1024 * 1024, 0x41)), undefined, Code.ResourceExhausted, /readMaxBytes/],
    ['a report before any hello', () => grpcFrame(toBinary(StreamRequestSchema, create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport('raw-1', 1, Date.now()) } }))), undefined, Code.FailedPrecondition, /first message on a stream must be a hello/],
    ['an empty stream message', () => grpcFrame(new Uint8Array()), undefined, Code.InvalidArgument, /empty stream message/],
    ['hello twice', () => Buffer.concat([grpcFrame(hello), grpcFrame(hello)]), undefined, Code.InvalidArgument, /hello sent twice/],
  ])('%s → %s', async (_name, body, headers, code, message) => {
    const res = await rawGrpcCall(`http://127.0.0.1:${hub.grpcPort}`, STREAM, body(), { headers });
    expect(res.httpStatus).toBe(200);
    expect({ code: Code[res.grpcStatus!], message: res.grpcMessage }).toMatchObject({ code: Code[code], message: expect.stringMatching(message) });
  });

  it('a non-gRPC content type gets 415, an unknown method 404 (UNIMPLEMENTED over gRPC)', async () => {
    expect((await rawGrpcCall(`http://127.0.0.1:${hub.grpcPort}`, STREAM, grpcFrame(hello), { headers: { 'content-type': 'application/json' } })).httpStatus).toBe(415);
    expect((await rawGrpcCall(`http://127.0.0.1:${hub.grpcPort}`, '/sysmonstm.v1.IngestService/Nope', grpcFrame(hello))).httpStatus).toBe(404);
    const res = await stream(hub, { machineId: 'raw-1' }); // a well-formed stream still works on the same port
    expect(res.code).toBe('OK');
    expect(res.responses[0].kind.case).toBe('welcome');
  });
});

describe('hostile hellos and reports', () => {
  it.each<[string, HelloInit, RegExp]>([
    ['path traversal in the id', { machineId: '../../etc/passwd' }, /machine_id must match/],
    ['markup in the id', { machineId: '<script>alert(1)</script>' }, /machine_id must match/],
    ['an empty id', { machineId: '' }, /machine_id/],
    ['a 129-character id', { machineId: 'a'.repeat(129) }, /machine_id/],
    ['unicode in the id', { machineId: 'mä-01' }, /machine_id/],
    ['NUL in the id', { machineId: 'm\u0000' }, /machine_id/],
    ['a newline in the hostname', { machineId: 'ok-1', hostname: 'ok\nlevel=error' }, /control characters/],
    ['33 labels', { machineId: 'ok-1', labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }, /at most 32 labels/],
    ['a 300-character label', { machineId: 'ok-1', labels: { k: 'v'.repeat(300) } }, /longer than 256/],
    ['a 300-character display name', { machineId: 'ok-1', displayName: 'n'.repeat(300) }, /display_name longer than 256/],
  ])('%s: INVALID_ARGUMENT', async (_name, hello, reason) => {
    const res = await stream(hub, hello, [syntheticReport(String(hello.machineId), 1, Date.now())]);
    expect(res.code).toBe('InvalidArgument');
    expect(res.message).toMatch(reason);
    expect(res.responses).toEqual([]);
  });

  it('a bad report is rejected with a reason and acked; the stream and later reports go on', async () => {
    const now = Date.now();
    const bad = (seq: number, patch: (r: Report) => void) => {
      const r = syntheticReport('hostile-1', seq, now);
      patch(r);
      return r;
    };
    const reports = [
      syntheticReport('hostile-1', 1, now),
      bad(2, (r) => (r.cpu!.totalPercent = Number.NaN)),
      bad(3, (r) => (r.memory!.usedBytes = Number.POSITIVE_INFINITY)),
      bad(4, (r) => (r.load!.load1m = -1)),
      bad(5, (r) => (r.timestampMs = BigInt(now + 3600_000))),
      bad(6, (r) => (r.timestampMs = 0n)),
      bad(7, (r) => (r.timestampMs = -(2n ** 62n))),
      bad(8, (r) => (r.hostname = 'x\u001b[31mred')),
      bad(9, (r) => (r.labels = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`r${i}`, 'v'])))), // + the hello's 20: too many together
      bad(10, (r) => (r.filesystems = Array.from({ length: 300 }, () => r.filesystems[0]))),
      bad(11, (r) => (r.intervalMs = 4_000_000_000)),
      syntheticReport('hostile-1', 12, now + 1),
    ];
    const hello = { machineId: 'hostile-1', labels: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`h${i}`, 'v'])) };
    const res = await stream(hub, hello, reports);
    expect(res.code).toBe('OK');
    const rejects = res.responses.filter((r) => r.kind.case === 'reject').map((r) => Number((r.kind.value as { seq: bigint }).seq));
    expect(rejects).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const reasons = res.responses.filter((r) => r.kind.case === 'reject').map((r) => (r.kind.value as { reason: string }).reason);
    expect(reasons[7]).toMatch(/hello and report together/);
    const acks = res.responses.filter((r) => r.kind.case === 'ack').map((r) => Number((r.kind.value as { seq: bigint }).seq));
    expect(Math.max(...acks)).toBe(12);
    await waitFor('rows stored', async () => (await seqsOf('hostile-1')).length === 2);
    expect(await seqsOf('hostile-1')).toEqual([1, 12]);
  });

  it('a report for another machine on the stream ends it with INVALID_ARGUMENT', async () => {
    const res = await stream(hub, { machineId: 'honest-1' }, [syntheticReport('victim-1', 1, Date.now())]);
    expect(res.code).toBe('InvalidArgument');
    expect(res.message).toMatch(/report for machine "victim-1" on the stream of "honest-1"/);
    expect(await seqsOf('victim-1')).toEqual([]);
  });

  it('unknown fields a collector adds are not stored', async () => {
    const report = syntheticReport('extra-1', 1, Date.now());
    const bytes = toBinary(ReportSchema, report);
    const withUnknown = Buffer.concat([bytes, Buffer.from([0xfa, 0x3e, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f])]); // field 999, "hello"
    const { fromBinary } = await import('@bufbuild/protobuf');
    const res = await stream(hub, { machineId: 'extra-1' }, [fromBinary(ReportSchema, withUnknown)]);
    expect(res.code).toBe('OK');
    const detail = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/extra-1/metrics`)).json()) as { report: Record<string, unknown> };
    expect(JSON.stringify(detail.report)).not.toContain('hello');
  });
});

describe('tokens', () => {
  const good = () => [syntheticReport('web-01', 1, Date.now())];
  it('a missing, malformed or wrong token: UNAUTHENTICATED, before anything is read', async () => {
    for (const headers of [undefined, { authorization: TOKEN }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(1)}` }, { authorization: 'Bearer ' }]) {
      const res = await stream(guarded, { machineId: 'web-01' }, good(), headers);
      expect(res.code, JSON.stringify(headers)).toBe('Unauthenticated');
      expect(res.responses).toEqual([]);
    }
    const raw = await rawGrpcCall(`http://127.0.0.1:${guarded.grpcPort}`, STREAM, grpcFrame(Buffer.from([0xff])));
    expect(raw.grpcStatus).toBe(Code.Unauthenticated); // even a malformed frame is not parsed first
  });

  it('a machine token speaks for its machine only: PERMISSION_DENIED for another id', async () => {
    const denied = await stream(guarded, { machineId: 'db-01' }, [syntheticReport('db-01', 1, Date.now())], { authorization: `Bearer ${WEB_TOKEN}` });
    expect(denied.code).toBe('PermissionDenied');
    expect(denied.message).toMatch(/belongs to machine "web-01"/);
    const own = await stream(guarded, { machineId: 'web-01' }, good(), { authorization: `Bearer ${WEB_TOKEN}` });
    expect(own.code).toBe('OK');
    const shared = await stream(guarded, { machineId: 'db-01' }, [syntheticReport('db-01', 1, Date.now())], { authorization: `Bearer ${TOKEN}` });
    expect(shared.code).toBe('OK');
    expect((guarded.stats() as { ingest: { streamsRefused: number } }).ingest.streamsRefused).toBeGreaterThanOrEqual(7);
  });
});

describe('replayed sequences', () => {
  it('replays, overlaps and a seq going backwards store every seq once', async () => {
    const t0 = Date.now() - 60_000;
    const r = (seq: number) => syntheticReport('replay-1', seq, t0 + seq * 100);
    await stream(hub, { machineId: 'replay-1' }, Array.from({ length: 20 }, (_, i) => r(i + 1)));
    await stream(hub, { machineId: 'replay-1' }, [...Array.from({ length: 20 }, (_, i) => r(i + 1)), ...Array.from({ length: 16 }, (_, i) => r(i + 15))]);
    const back = await stream(hub, { machineId: 'replay-1' }, [r(40), r(35), r(41)]);
    expect(back.responses.filter((x) => x.kind.case === 'ack').map((x) => Number((x.kind.value as { seq: bigint }).seq)).at(-1)).toBe(41);
    await waitFor('41 stored', async () => (await seqsOf('replay-1')).includes(41));
    expect(await seqsOf('replay-1')).toEqual([...Array.from({ length: 30 }, (_, i) => i + 1), 40, 41]);
  });

  it('a second stream for one machine replaces the first; the same seqs with other timestamps are stored once', async () => {
    const a = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'twin-1');
    await waitFor('a welcomed', () => a.responses.length > 0);
    const t0 = Date.now() - 30_000;
    for (let seq = 1; seq <= 30; seq++) a.send(syntheticReport('twin-1', seq, t0 + seq * 100));
    await waitFor('a acked', () => a.acked() === 30);
    const b = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, 'twin-1');
    await waitFor('b welcomed', () => b.responses.length > 0);
    await expect(a.finish()).rejects.toMatchObject({ code: Code.Aborted });
    for (let seq = 1; seq <= 31; seq++) b.send(syntheticReport('twin-1', seq, t0 + seq * 100 + 7)); // same seqs, another time
    await waitFor('b acked', () => b.acked() === 31);
    await b.finish();
    const seqs = await seqsOf('twin-1');
    expect(seqs).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  });
});

describe('thousands of fake machines', () => {
  it(`3,000 short streams with distinct ids: at most MAX_MACHINES=${MAX_MACHINES} get in, the rest RESOURCE_EXHAUSTED`, async () => {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${hub.grpcPort}` });
    const before = ((await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines`)).json()) as unknown[]).length;
    const codes = new Map<string, number>();
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < 3000) {
        const id = `fake-${next++}`;
        const res = await stream(transport, { machineId: id }, [syntheticReport(id, 1, Date.now())]);
        codes.set(res.code, (codes.get(res.code) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    const seconds = (Date.now() - started) / 1000;
    const listed = ((await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines`)).json()) as unknown[]).length;
    console.log(`3000 fake machines in ${seconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(codes))}; machines listed ${before} → ${listed}`);
    expect(listed).toBeLessThanOrEqual(MAX_MACHINES);
    expect(codes.get('OK')).toBe(MAX_MACHINES - before);
    expect(codes.get('ResourceExhausted')).toBe(3000 - (MAX_MACHINES - before));
    expect([...codes.keys()].sort()).toEqual(['OK', 'ResourceExhausted']);
  }, 120_000);
});

describe('afterwards', () => {
  it('the hub is up, takes a known machine, answers its APIs, and history is clean', async () => {
    const res = await stream(hub, { machineId: 'replay-1' }, [syntheticReport('replay-1', 42, Date.now())]);
    expect(res.code).toBe('OK');
    expect((await fetch(`http://127.0.0.1:${hub.httpPort}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${hub.httpPort}/ready`)).status).toBe(200);
    const { rows } = await pool.query<{ bad_ids: string; dup: string }>(
      `SELECT (SELECT count(*) FROM metrics WHERE machine_id !~ '^[A-Za-z0-9._-]{1,128}$') AS bad_ids,
              (SELECT count(*) FROM (SELECT 1 FROM metrics GROUP BY machine_id, seq HAVING count(*) > 1) d) AS dup`,
    );
    expect(rows[0]).toEqual({ bad_ids: '0', dup: '0' });
  });
});
