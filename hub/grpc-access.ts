// Who may call the read and alerting RPCs on the gRPC port: exactly what their REST twins need.
// - With DASHBOARD_TOKEN set, every FleetService and ConfigService call needs the dashboard token (or
//   the admin token), as every /api route does behind the dashboard gate.
// - Without DASHBOARD_TOKEN, the REST API is reachable from this machine only (HTTP_HOST binds to
//   127.0.0.1), but the gRPC port listens on 0.0.0.0 for the collectors: so a read over gRPC is
//   answered for loopback peers only, and refused (PERMISSION_DENIED) for anyone else.
// - Writes (ConfigService changes) additionally pass admin-auth.ts in config-service.ts, as REST
//   writes do: ADMIN_TOKEN, or a loopback peer when it is not set.
// Wrong dashboard tokens are counted per address by the same throttle as on HTTP (login-throttle.ts): past
// the allowance a guarded call is refused (RESOURCE_EXHAUSTED) before its token is compared.
// IngestService is not decided here (collector tokens, collector-auth.ts). The decision is pure; the
// interceptor is the shell, reading the peer address the Connect adapter put into the call's context.
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { ConfigService } from '../proto/gen/sysmonstm/v1/config_pb.js';
import { FleetService } from '../proto/gen/sysmonstm/v1/fleet_pb.js';
import { isLoopback, peerAddressKey } from './gateway/admin-auth.ts';
import type { DashboardAuth } from './gateway/dashboard-auth.ts';

/** The ConfigService methods that only read (their REST twins are GETs). */
export const CONFIG_READ_METHODS: ReadonlySet<string> = new Set(['ListRules', 'GetRule', 'ListChannels', 'ListAlerts', 'ListAlertHistory', 'ListDeadLetters', 'GetMachineSettings']);

/** The services behind the dashboard gate (IngestService has its collector tokens instead). */
export function isGuardedService(service: string): boolean {
  return service === FleetService.typeName || service === ConfigService.typeName;
}

export type GrpcAccess = { ok: true } | { ok: false; code: Code; message: string };

/** Pure: may this call go on to its handler? */
export function decideGrpcAccess(input: {
  service: string;
  method: string;
  dashboardTokenSet: boolean;
  /** The dashboard gate's verdict for the call's authorization header (ignored when no token is set). */
  hasDashboardAccess: boolean;
  peerAddress: string | undefined;
}): GrpcAccess {
  if (!isGuardedService(input.service)) return { ok: true };
  if (input.dashboardTokenSet) {
    return input.hasDashboardAccess ? { ok: true } : { ok: false, code: Code.Unauthenticated, message: `${input.service.split('.').pop()} needs "authorization: Bearer <DASHBOARD_TOKEN>"` };
  }
  const read = input.service === FleetService.typeName || CONFIG_READ_METHODS.has(input.method);
  if (read && !isLoopback(input.peerAddress)) {
    return { ok: false, code: Code.PermissionDenied, message: 'reads are answered for this machine only (127.0.0.1) unless DASHBOARD_TOKEN is set on the hub' };
  }
  return { ok: true }; // a write goes on to its admin check
}

export function grpcAccessInterceptor(dashboardAuth: DashboardAuth | undefined): Interceptor {
  return (next) => async (req) => {
    const peerAddress = req.contextValues.get(peerAddressKey);
    // Wrong tokens count against the address as they do on HTTP (one throttle for both ports).
    const wait = dashboardAuth && isGuardedService(req.service.typeName) ? dashboardAuth.throttled(peerAddress) : undefined;
    if (wait !== undefined) throw new ConnectError(`too many wrong tokens from this address; try again in ${wait} s`, Code.ResourceExhausted);
    const decision = decideGrpcAccess({
      service: req.service.typeName,
      method: req.method.name,
      dashboardTokenSet: dashboardAuth !== undefined,
      hasDashboardAccess: dashboardAuth?.allows({ authorization: req.header.get('authorization'), address: peerAddress }) ?? false,
      peerAddress,
    });
    if (!decision.ok) throw new ConnectError(decision.message, decision.code);
    return next(req);
  };
}
