// The dead-man webhook's request (durable-objects/deadman-webhook.ts): signed as the hub signs its webhooks.
import { describe, expect, it } from 'vitest';
import { deadmanRequest, EVENT_HEADER, signBody, SIGNATURE_HEADER } from '../../durable-objects/deadman-webhook.ts';
import { signBody as hubSignBody, verifySignature } from '../../hub/alerts/notification.ts';

describe('dead-man webhook', () => {
  it('signs the raw body exactly like the hub, so one receiver verifies both', async () => {
    expect(await signBody('k', 'body')).toBe(hubSignBody('k', 'body'));
    const req = await deadmanRequest('http://127.0.0.1:1/x', 'k', { kind: 'firing', view: 'ops', heardAtMs: 1000, atMs: 301_000 }, 301_500);
    expect(verifySignature('k', req.body, req.headers[SIGNATURE_HEADER])).toBe(true);
    expect(req.headers[EVENT_HEADER]).toBe('firing');
    expect(JSON.parse(req.body)).toMatchObject({ kind: 'firing', event: 'hub_silent', view: 'ops', silent_for_s: 300 });
    const unsigned = await deadmanRequest('http://127.0.0.1:1/x', undefined, { kind: 'resolved', view: 'ops', heardAtMs: 1, atMs: 2 }, 3);
    expect(unsigned.headers[SIGNATURE_HEADER]).toBeUndefined();
  });
});
