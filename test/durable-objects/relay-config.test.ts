// The relay's configuration from the Worker's vars (durable-objects/relay-config.ts): defaults, string
// values, and errors that name the variable.
import { describe, expect, it } from 'vitest';
import { parseRelayConfig, RELAY_DEFAULTS } from '../../durable-objects/relay-config.ts';

describe('relay config', () => {
  it('uses the defaults and parses string vars', () => {
    expect(parseRelayConfig({})).toEqual(RELAY_DEFAULTS);
    expect(parseRelayConfig({ RELAY_SHARDS: '4', OFFLINE_AFTER_MS: ' 1500 ' })).toMatchObject({ relayShards: 4, offlineAfterMs: 1500 });
  });
  it.each([
    [{ RELAY_SHARDS: '0' }, /RELAY_SHARDS must be an integer between 1 and 256 \(got "0"\)/],
    [{ OFFLINE_AFTER_MS: 'soon' }, /OFFLINE_AFTER_MS/],
    [{ MAX_MACHINES: '20001' }, /MAX_MACHINES/],
  ])('rejects %o', (vars, message) => {
    expect(() => parseRelayConfig(vars)).toThrow(message);
  });
});
