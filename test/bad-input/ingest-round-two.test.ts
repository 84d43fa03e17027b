// Hostile inputs, round two, at the ingest stream of a real hub (history in PostgreSQL; current state in
// memory, and once in Redis): seq poisoning by rejected and valid reports, the shared token on a
// machine the tokens file binds, physical ranges of every number, control and invisible characters in
// names, the byte cap of the latest report kept per machine, and one live stream per machine id.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { create, fromBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestClient } from '../../collector/ingest-client.ts';
import { createReportBuffer } from '../../collector/report-buffer.ts';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import { STATE_REPORT_MAX_BYTES } from '../../hub/state/bound-report.ts';
import { LIMITS } from '../../hub/validate-report.ts';
import { HelloSchema, IngestService, StreamRequestSchema, type StreamRequest, type StreamResponse } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ContainerSchema, ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { createTestDatabase, REDIS_URL, redisPrefix, tempDir, waitFor } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../support/synthetic-collector.ts';

const TOKEN = 'collector-token-for-round-two-01';
const WEB_TOKEN = 'token-of-web-01-round-two-abcd';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let hub: Hub;
let guarded: Hub;
let redisHub: Hub;
const logLines: string[] = [];
const dir = tempDir('round-two');
const dir2 = tempDir('round-two-guarded');
const dir3 = tempDir('round-two-redis');
const redisKeys = redisPrefix();

const captureLog = () =>
  pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );

type HelloInit = MessageInitShape<typeof HelloSchema>;

async function stream(target: Hub, hello: HelloInit, reports: Report[] = [], headers?: Record<string, string>) {
  const client = createClient(IngestService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${target.grpcPort}` }));
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

const acks = (responses: StreamResponse[]) => responses.filter((r) => r.kind.case === 'ack').map((r) => Number((r.kind.value as { seq: bigint }).seq));
const rejects = (responses: StreamResponse[]) =>
  responses.filter((r) => r.kind.case === 'reject').map((r) => ({ seq: Number((r.kind.value as { seq: bigint }).seq), reason: (r.kind.value as { reason: string }).reason }));
const welcomeSeq = (responses: StreamResponse[]) => Number((responses.find((r) => r.kind.case === 'welcome')!.kind.value as { lastSeq: bigint }).lastSeq);
const seqsOf = async (machine: string) =>
  (await pool.query<{ seq: string }>('SELECT seq FROM metrics WHERE machine_id = $1 ORDER BY seq', [machine])).rows.map((r) => Number(r.seq));

function report(machine: string, seq: number, patch: (r: Report) => void = () => {}, timeMs = Date.now()): Report {
  const r = syntheticReport(machine, seq, timeMs);
  patch(r);
  return r;
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const base = { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url, HISTORY_FLUSH_INTERVAL: '0.05' };
  hub = await startHub(parseHubConfig([], { ...base, DATA_DIR: dir.path }), { log: captureLog() });
  const tokensFile = path.join(dir2.path, 'collector-tokens');
  writeFileSync(tokensFile, `web-01 ${WEB_TOKEN}\n`);
  guarded = await startHub(parseHubConfig([], { ...base, DATA_DIR: dir2.path, COLLECTOR_TOKEN: TOKEN, COLLECTOR_TOKENS_FILE: tokensFile }), { log: pino({ level: 'silent' }) });
  redisHub = await startHub(parseHubConfig([], { ...base, DATA_DIR: dir3.path, REDIS_URL }), { log: pino({ level: 'silent' }), redisPrefix: redisKeys.prefix });
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await guarded?.close();
  await redisHub?.close();
  await redisKeys.cleanup();
  await pool?.end();
  await db?.drop();
  dir.remove();
  dir2.remove();
  dir3.remove();
});

describe('seq poisoning', () => {
  it('a rejected report (cpu NaN, seq 10^15) moves no seq state: the real reports after it are stored', async () => {
    const first = await stream(hub, { machineId: 'poison-1' }, [report('poison-1', 1), report('poison-1', 1e15, (r) => (r.cpu!.totalPercent = Number.NaN)), report('poison-1', 2)]);
    expect(first.code).toBe('OK');
    expect(rejects(first.responses).map((r) => r.seq)).toEqual([1e15]);
    expect(Math.max(...acks(first.responses))).toBe(2);
    await waitFor('seq 2 stored', async () => (await seqsOf('poison-1')).includes(2));
    // A new stream is told what history holds, not the rejected seq; and its next report is stored.
    const again = await stream(hub, { machineId: 'poison-1' }, [report('poison-1', 3)]);
    expect(welcomeSeq(again.responses)).toBe(2);
    await waitFor('seq 3 stored', async () => (await seqsOf('poison-1')).includes(3));
    expect(await seqsOf('poison-1')).toEqual([1, 2, 3]);
  });

  it('a valid report with seq 2^53−1, or a jump past the window, is refused; the collector goes on from its own seq', async () => {
    const jump = 1 + LIMITS.seqWindow + 1;
    const res = await stream(hub, { machineId: 'poison-2' }, [
      report('poison-2', 1),
      report('poison-2', Number.MAX_SAFE_INTEGER),
      report('poison-2', LIMITS.maxSeq + 1),
      report('poison-2', jump),
      report('poison-2', 2),
    ]);
    expect(res.code).toBe('OK');
    const refused = rejects(res.responses);
    expect(refused.map((r) => r.seq)).toEqual([Number.MAX_SAFE_INTEGER, LIMITS.maxSeq + 1, jump]);
    expect(refused[0].reason).toMatch(/seq must be a positive integer of at most 2\^52/);
    expect(refused[2].reason).toMatch(/jumps more than 1000000000 past the highest seq the hub holds for this machine \(1\)/);
    expect(Math.max(...acks(res.responses))).toBe(2);
    await waitFor('seq 2 stored', async () => (await seqsOf('poison-2')).includes(2));
    expect(await seqsOf('poison-2')).toEqual([1, 2]);
    expect(welcomeSeq((await stream(hub, { machineId: 'poison-2' })).responses)).toBe(2);
  });

  it('with a tokens file, the shared COLLECTOR_TOKEN does not speak for a machine the file binds', async () => {
    const shared = await stream(guarded, { machineId: 'web-01' }, [report('web-01', 1)], { authorization: `Bearer ${TOKEN}` });
    expect(shared.code).toBe('PermissionDenied');
    expect(shared.message).toMatch(/machine "web-01" has its own token in COLLECTOR_TOKENS_FILE/);
    expect(shared.responses).toEqual([]);
    expect((await stream(guarded, { machineId: 'web-01' }, [report('web-01', 1)], { authorization: `Bearer ${WEB_TOKEN}` })).code).toBe('OK');
    expect((await stream(guarded, { machineId: 'db-01' }, [report('db-01', 1)], { authorization: `Bearer ${TOKEN}` })).code).toBe('OK');
  });

  it('the collector logs the Reject it gets, with the reason', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }));
    const buffer = createReportBuffer(100);
    buffer.push(report('poison-3', 1, (r) => (r.memory!.usedBytes = 1e308)));
    buffer.push(report('poison-3', 2));
    const client = createIngestClient({ hubUrl: `http://127.0.0.1:${hub.grpcPort}`, hello: { machineId: 'poison-3' }, buffer, log, onWelcome() {}, onSettings() {} });
    client.start();
    await waitFor('acked', () => client.lastAckedSeq === 2);
    await client.close();
    const rejected = lines.map((l) => JSON.parse(l) as { msg: string; seq: number; reason: string }).find((l) => l.msg === 'the hub rejected a report');
    expect(rejected).toMatchObject({ seq: 1, reason: expect.stringMatching(/memory\.used_bytes must be within 0\.\.\d+, got 1e\+308/) });
  });
});

describe('physical ranges', () => {
  it.each<[string, (r: Report) => void, RegExp]>([
    ['memory.used_bytes = 1e308', (r) => (r.memory!.usedBytes = 1e308), /memory\.used_bytes must be within/],
    ['uptime 1e308 s', (r) => (r.uptimeSeconds = 1e308), /uptime_seconds must be within 0\.\.10000000000/],
    ['load 1e300', (r) => (r.load!.load15m = 1e300), /load\.load_15m must be within 0\.\.1000000/],
    ['a process count of 4e9', (r) => (r.processCount = 4_000_000_000), /process_count must be within/],
    ['a filesystem of 1e300 bytes', (r) => (r.filesystems[0].sizeBytes = 1e300), /filesystem "\/": size_bytes must be within/],
    ['a network counter of 1e300', (r) => (r.network[0].recvBytesTotal = 1e300), /interface "eth0": recv_bytes_total must be within/],
    ['a network rate of 1e300', (r) => (r.network[0].sentBytesPerSec = 1e300), /interface "eth0": sent_bytes_per_sec must be within/],
    ['disk ops of 1e300/s', (r) => (r.disks = [{ $typeName: 'sysmonstm.v1.DiskIo', device: 'sda', readBytesPerSec: 0, writeBytesPerSec: 0, readOpsPerSec: 1e300, writeOpsPerSec: 0 }]), /disk "sda": read_ops_per_sec must be within/],
    ['a sensor at 5,000 °C', (r) => (r.temperatures = [{ $typeName: 'sysmonstm.v1.Temperature', sensor: 'cpu', celsius: 5000 }]), /temperature "cpu": celsius must be within -273.15\.\.1000/],
    ['a container of 1e308 bytes', (r) => (r.containers = [create(ContainerSchema, { id: 'c1', name: 'db', state: 'running', cpuPercent: 1, memoryBytes: 1e308, memoryPercent: 1 })]), /container "db": memory_bytes must be within/],
    ['swap at 250 %', (r) => (r.memory!.swapPercent = 250), /memory\.swap_percent must be within 0\.\.100\.5/],
  ])('%s is refused with a reason naming the field', async (_name, patch, reason) => {
    const machine = `range-${Math.random().toString(36).slice(2, 8)}`;
    const res = await stream(hub, { machineId: machine }, [report(machine, 1, patch), report(machine, 2)]);
    expect(rejects(res.responses)).toEqual([{ seq: 1, reason: expect.stringMatching(reason) }]);
    await waitFor('seq 2 stored', async () => (await seqsOf(machine)).includes(2));
    expect(await seqsOf(machine)).toEqual([2]);
  });

  it('a report older than the raw history retention (7 days) is refused: it could only land behind every rollup', async () => {
    const res = await stream(hub, { machineId: 'old-1' }, [report('old-1', 1, () => {}, Date.now() - 7.5 * 86_400_000), report('old-1', 2)]);
    expect(rejects(res.responses)).toEqual([{ seq: 1, reason: expect.stringMatching(/too far in the past \(more than 168 h: the raw history retention\)/) }]);
    await waitFor('seq 2 stored', async () => (await seqsOf('old-1')).includes(2));
    expect(await seqsOf('old-1')).toEqual([2]);
  });

  it('the largest valid values are accepted, and the machine answers its 1 m and 1 h history', async () => {
    const res = await stream(hub, { machineId: 'extreme-1' }, [
      report('extreme-1', 1, (r) => {
        r.memory!.usedBytes = 2 ** 60;
        r.memory!.totalBytes = 2 ** 60;
        r.uptimeSeconds = 1e10;
        r.load!.load1m = 1e6;
        r.network[0].recvBytesPerSec = 2 ** 50;
      }),
    ]);
    expect(rejects(res.responses)).toEqual([]);
    await waitFor('stored', async () => (await seqsOf('extreme-1')).length === 1);
    for (const step of ['1m', '1h']) {
      const h = await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/extreme-1/history?metric=memory_used_bytes&step=${step}`);
      expect(h.status, step).toBe(200);
    }
  });
});

describe('names', () => {
  it.each<[string, (r: Report) => void, RegExp]>([
    ['a newline in a filesystem mount', (r) => (r.filesystems[0].mount = '/data\nlevel=error'), /filesystem .*mount must not contain control characters/],
    ['an ANSI escape in an interface name', (r) => (r.network[0].name = 'eth0\u001b[31m'), /interface .*name must not contain control characters/],
    ['NUL in a disk device', (r) => (r.disks = [{ $typeName: 'sysmonstm.v1.DiskIo', device: 'sd\u0000a', readBytesPerSec: 0, writeBytesPerSec: 0, readOpsPerSec: 0, writeOpsPerSec: 0 }]), /disk .*device must not contain control characters/],
    ['a carriage return in a sensor', (r) => (r.temperatures = [{ $typeName: 'sysmonstm.v1.Temperature', sensor: 'cpu\r', celsius: 40 }]), /temperature .*sensor must not contain control characters/],
    ['DEL in a container name', (r) => (r.containers = [create(ContainerSchema, { id: 'c1', name: 'db\u007f', state: 'running', cpuPercent: 1, memoryBytes: 1, memoryPercent: 1 })]), /container .*name must not contain control characters/],
    ['a C1 control in a filesystem type', (r) => (r.filesystems[0].fsType = 'ext4\u009b'), /fs_type must not contain control characters/],
  ])('%s is refused', async (_name, patch, reason) => {
    const machine = `name-${Math.random().toString(36).slice(2, 8)}`;
    const res = await stream(hub, { machineId: machine }, [report(machine, 1, patch)]);
    expect(rejects(res.responses)).toEqual([{ seq: 1, reason: expect.stringMatching(reason) }]);
  });

  it('bidi overrides and zero-width characters are removed from display names, labels and list names', async () => {
    const res = await stream(hub, { machineId: 'bidi-1', displayName: 'hello\u200bname', labels: { 'r\u200dole': 'we\u2066b' } }, [
      report('bidi-1', 1, (r) => {
        r.displayName = 'safe\u202Eexe.txt';
        r.hostname = 'host\ufeff.local';
        r.filesystems[0].mount = '/da\u200bta';
        r.labels = { env: 'pr\u202dod' };
      }),
    ]);
    expect(rejects(res.responses)).toEqual([]);
    const detail = await waitFor('listed', async () => {
      const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/bidi-1/metrics`);
      return r.status === 200 && ((await r.json()) as { name: string; hostname: string; labels: Record<string, string>; report: { filesystems: Array<{ mount: string }> } });
    });
    expect(detail.name).toBe('safeexe.txt');
    expect(detail.hostname).toBe('host.local');
    expect(detail.labels).toEqual({ role: 'web', env: 'prod' });
    expect(detail.report.filesystems[0].mount).toBe('/data');
  });
});

describe('memory per machine', () => {
  /** A valid report near the 1 MiB message limit: 1,000 containers with long names. */
  const huge = (machine: string) =>
    report(machine, 1, (r) => {
      r.containers = Array.from({ length: 1000 }, (_, i) =>
        create(ContainerSchema, {
          id: `${i}`.padStart(64, '0'),
          name: `container-${i}-`.padEnd(256, 'n'),
          image: `image-${i}-`.padEnd(256, 'i'),
          state: 'running',
          cpuPercent: 1,
          memoryBytes: 1e6,
          memoryPercent: 1,
        }),
      );
    });

  it(`a ~600 KiB report is kept as at most ${STATE_REPORT_MAX_BYTES} bytes in memory state and in Redis`, async () => {
    const { toBinary } = await import('@bufbuild/protobuf');
    expect(toBinary(ReportSchema, huge('huge-1')).length).toBeGreaterThan(500 * 1024);
    // Both hubs share one database: one machine id each.
    for (const [target, machine] of [[hub, 'huge-1'], [redisHub, 'huge-2']] as const) {
      const res = await stream(target, { machineId: machine }, [huge(machine)]);
      expect(res.code, res.message).toBe('OK');
      expect(rejects(res.responses)).toEqual([]);
    }
    const detail = await waitFor('in memory state', async () => {
      const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/machines/huge-1/metrics`);
      return r.status === 200 && ((await r.json()) as { report: { containers: unknown[] } });
    });
    expect(detail.report.containers.length).toBeGreaterThan(0);
    expect(detail.report.containers.length).toBeLessThan(1000);
    expect(JSON.stringify(detail.report).length).toBeLessThan(4 * STATE_REPORT_MAX_BYTES);
    const redis = new Redis(REDIS_URL);
    try {
      const stored = await waitFor('in Redis', async () => (await redis.hgetBuffer(`${redisKeys.prefix}machine:huge-2`, 'report')) ?? undefined);
      expect(stored.length).toBeLessThanOrEqual(STATE_REPORT_MAX_BYTES);
      expect(fromBinary(ReportSchema, stored).containers.length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
    expect((hub.stats() as { ingest: { reportsTrimmedForState: number } }).ingest.reportsTrimmedForState).toBeGreaterThanOrEqual(1);
  });
});

describe('one live stream per machine id', () => {
  it('a second stream for the same id replaces the first (ABORTED) with a warning in the log', async () => {
    const url = `http://127.0.0.1:${hub.grpcPort}`;
    const a = openSyntheticSession(url, 'twice-1');
    await waitFor('a welcomed', () => a.responses.length > 0);
    a.send(report('twice-1', 1));
    await waitFor('a acked', () => a.acked() === 1);
    const b = openSyntheticSession(url, 'twice-1');
    await waitFor('b welcomed', () => b.responses.length > 0);
    const aEnd = await a.finish().then(
      () => 'OK',
      (err: unknown) => Code[ConnectError.from(err).code],
    );
    expect(aEnd).toBe('Aborted');
    b.send(report('twice-1', 2));
    await waitFor('b acked', () => b.acked() === 2);
    await b.finish();
    expect(logLines.some((l) => l.includes('"machine":"twice-1"') && l.includes('a second stream for this machine id'))).toBe(true);
    expect((hub.stats() as { ingest: { streamsReplaced: number } }).ingest.streamsReplaced).toBeGreaterThanOrEqual(1);
  });
});
