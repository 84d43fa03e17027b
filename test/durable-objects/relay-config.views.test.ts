// The relay's configuration for public views (durable-objects/relay-config.ts): hub silence and dead man.
import { describe, expect, it } from 'vitest';
import { parseRelayConfig } from '../../durable-objects/relay-config.ts';

describe('relay config for views', () => {
  it('reads the hub-silence and dead-man settings, naming the variable on error', () => {
    expect(parseRelayConfig({})).toMatchObject({ hubSilentAfterMs: 60_000, deadmanAfterMs: 300_000, deadmanWebhookUrl: null, deadmanWebhookSecret: null });
    expect(parseRelayConfig({ DEADMAN_AFTER_S: '2', DEADMAN_WEBHOOK_URL: 'https://example.com/hook' })).toMatchObject({ deadmanAfterMs: 2000, deadmanWebhookUrl: 'https://example.com/hook' });
    expect(() => parseRelayConfig({ DEADMAN_WEBHOOK_URL: 'ftp://x' })).toThrow(/DEADMAN_WEBHOOK_URL/);
    expect(() => parseRelayConfig({ DEADMAN_AFTER_S: '0' })).toThrow(/DEADMAN_AFTER_S/);
    expect(() => parseRelayConfig({ HUB_SILENT_AFTER_MS: 'x' })).toThrow(/HUB_SILENT_AFTER_MS/);
  });
});
