// Registers every gRPC service of the hub on one Connect router.
import type { ConnectRouter, ServiceImpl } from '@connectrpc/connect';
import { ConfigService } from '../proto/gen/sysmonstm/v1/config_pb.js';
import { FleetService } from '../proto/gen/sysmonstm/v1/fleet_pb.js';
import { IngestService } from '../proto/gen/sysmonstm/v1/ingest_pb.js';

export function createRoutes(services: {
  ingest: ServiceImpl<typeof IngestService>;
  fleet: ServiceImpl<typeof FleetService>;
  config?: ServiceImpl<typeof ConfigService>;
}) {
  return (router: ConnectRouter) => {
    router.service(IngestService, services.ingest);
    router.service(FleetService, services.fleet);
    if (services.config) router.service(ConfigService, services.config);
  };
}
