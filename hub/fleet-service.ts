// FleetService over gRPC: the same answers as the REST API (list, one machine, history).
import { create, fromJson } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  FleetService,
  GetHistoryResponseSchema,
  GetMachineResponseSchema,
  ListMachinesResponseSchema,
  MachineStatus,
  MachineSummarySchema,
} from '../proto/gen/sysmonstm/v1/fleet_pb.js';
import { ReportSchema } from '../proto/gen/sysmonstm/v1/report_pb.js';
import type { FleetQuery, MachineSummaryJson } from './fleet/fleet-query.ts';

const STATUS = {
  healthy: MachineStatus.HEALTHY,
  warning: MachineStatus.WARNING,
  critical: MachineStatus.CRITICAL,
  offline: MachineStatus.OFFLINE,
} as const;

function toProtoSummary(s: MachineSummaryJson) {
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.metrics)) if (typeof v === 'number') metrics[k] = v;
  return create(MachineSummarySchema, {
    id: s.id,
    hostname: s.hostname,
    displayName: s.name,
    lastSeenMs: BigInt(s.lastSeen),
    status: STATUS[s.status],
    metrics,
    labels: s.labels,
    lastSeq: BigInt(s.lastSeq),
  });
}

export function createFleetService(fleet: FleetQuery): ServiceImpl<typeof FleetService> {
  return {
    listMachines: async () => create(ListMachinesResponseSchema, { machines: (await fleet.list()).map(toProtoSummary) }),
    getMachine: async (req) => {
      const detail = await fleet.detail(req.id);
      return create(GetMachineResponseSchema, {
        summary: toProtoSummary(detail),
        report: fromJson(ReportSchema, detail.report),
      });
    },
    getHistory: async (req) => {
      const h = await fleet.history(req.id, {
        metric: req.metric || undefined,
        from: req.fromMs ? String(req.fromMs) : undefined,
        to: req.toMs ? String(req.toMs) : undefined,
        step: req.step || undefined,
      });
      return create(GetHistoryResponseSchema, {
        machine: h.machine,
        metric: h.metric,
        step: h.step,
        points: h.points.map(([tMs, value]) => ({ tMs: BigInt(tMs), value })),
      });
    },
  };
}
