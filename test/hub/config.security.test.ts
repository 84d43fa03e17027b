// hub/config.ts, the security settings: collector and dashboard tokens, TLS paths, the viewer cap and
// the spool size, and the message naming the variable when one is wrong.
import { describe, expect, it } from 'vitest';
import { parseHubConfig } from '../../hub/config.ts';

const SHARED = 'shared-token-0123456789';

describe('hub config: security settings', () => {
  it('reads tokens, TLS paths, the viewer cap and the spool size', () => {
    const c = parseHubConfig([], {
      COLLECTOR_TOKEN: SHARED,
      COLLECTOR_TOKENS_FILE: '/etc/sysmonstm/tokens',
      DASHBOARD_TOKEN: 'dashboard-token-0123456789',
      GRPC_TLS_CERT: '/c.pem',
      GRPC_TLS_KEY: '/k.pem',
      MAX_VIEWERS: '50',
      HISTORY_SPOOL_MAX_BYTES: '0',
    });
    expect(c).toMatchObject({
      collectorToken: SHARED,
      collectorTokensFile: '/etc/sysmonstm/tokens',
      dashboardToken: 'dashboard-token-0123456789',
      grpcTls: { certFile: '/c.pem', keyFile: '/k.pem' },
      maxViewers: 50,
      historySpoolMaxBytes: 0,
    });
    expect(parseHubConfig([], {})).toMatchObject({ collectorToken: undefined, dashboardToken: undefined, grpcTls: undefined, maxViewers: 1000, historySpoolMaxBytes: 1024 ** 3 });
  });

  it.each([
    [{ COLLECTOR_TOKEN: 'short' }, /COLLECTOR_TOKEN: must be 16 to 512 printable ASCII/],
    [{ DASHBOARD_TOKEN: 'has a space in it, sadly' }, /DASHBOARD_TOKEN/],
    [{ GRPC_TLS_CERT: '/c.pem' }, /GRPC_TLS_CERT and GRPC_TLS_KEY must be set together/],
    [{ HISTORY_SPOOL_MAX_BYTES: '1000' }, /HISTORY_SPOOL_MAX_BYTES/],
    [{ MAX_VIEWERS: '0' }, /MAX_VIEWERS/],
  ])('%o is refused, naming the variable', (env, message) => {
    expect(() => parseHubConfig([], env)).toThrow(message);
  });
});
