// A real gRPC client that speaks IngestService like a collector but sends synthetic reports with chosen
// seqs — for replay, validation and load tests where a real sampler would be in the way.
import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { IngestService, StreamRequestSchema, type StreamRequest, type StreamResponse } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { ReportSchema, type Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { requestQueue } from './request-queue.ts';

export function syntheticReport(machineId: string, seq: number, timestampMs: number, cpu = 10 + (seq % 50)): Report {
  return create(ReportSchema, {
    machineId,
    seq: BigInt(seq),
    timestampMs: BigInt(timestampMs),
    hostname: `${machineId}.local`,
    displayName: machineId,
    intervalMs: 1000,
    cpu: { totalPercent: cpu, perCorePercent: [cpu, cpu], userPercent: cpu * 0.7, systemPercent: cpu * 0.3, coreCount: 2 },
    memory: { totalBytes: 8e9, usedBytes: 4e9, availableBytes: 4e9, usedPercent: 50, swapTotalBytes: 1e9 },
    load: { load1m: 0.5, load5m: 0.4, load15m: 0.3 },
    filesystems: [{ mount: '/', device: '/dev/vda1', fsType: 'ext4', sizeBytes: 1e11, usedBytes: 4e10, usedPercent: 40 }],
    network: [{ name: 'eth0', recvBytesPerSec: 1000 + seq, sentBytesPerSec: 500 }],
    processCount: 120,
    uptimeSeconds: 3600,
  });
}

export interface SyntheticSession {
  responses: StreamResponse[];
  /** Highest acked seq so far. */
  acked(): number;
  send(report: Report): void;
  /** Ends the request side and waits for the hub to finish answering. */
  finish(): Promise<void>;
}

/** Opens one Stream: sends Hello, then whatever `send` is given; collects every response. */
export function openSyntheticSession(hubUrl: string, machineId: string, headers?: Record<string, string>): SyntheticSession {
  const transport = createGrpcTransport({ baseUrl: hubUrl });
  const client = createClient(IngestService, transport);
  const { requests, push, end } = requestQueue<StreamRequest>();
  push(create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId, hostname: `${machineId}.local`, displayName: machineId } } }));
  const responses: StreamResponse[] = [];
  const done = (async () => {
    for await (const res of client.stream(requests(), { headers })) responses.push(res);
  })();
  done.catch(() => {}); // seen by finish(); not an unhandled rejection when the hub ends the stream first
  return {
    responses,
    acked: () => Math.max(0, ...responses.filter((r) => r.kind.case === 'ack').map((r) => Number((r.kind.value as { seq: bigint }).seq))),
    send(report) {
      push(create(StreamRequestSchema, { kind: { case: 'report', value: report } }));
    },
    async finish() {
      end();
      await done;
    },
  };
}
