import { describe, expect, it } from 'vitest';
import { admitConnection, peerKey } from '../../hub/connection-limits.ts';

describe('peerKey', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::9', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (address, key) => expect(peerKey(address)).toBe(key));
});

describe('admitConnection', () => {
  const limits = { maxConnections: 10, maxConnectionsPerPeer: 3 };
  it('admits below both caps, refuses at either, naming the variable', () => {
    expect(admitConnection({ total: 9, byPeer: 2 }, limits)).toBeNull();
    expect(admitConnection({ total: 10, byPeer: 0 }, limits)).toMatch(/GRPC_MAX_CONNECTIONS\)/);
    expect(admitConnection({ total: 5, byPeer: 3 }, limits)).toMatch(/GRPC_MAX_CONNECTIONS_PER_PEER/);
  });
});
