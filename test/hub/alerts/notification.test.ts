// The payload of each notification channel type (pure): the signed webhook, Slack, Discord and ntfy;
// the retry schedule and which failures are retried.
import { describe, expect, test } from 'vitest';
import {
  escapeSlack,
  headerText,
  isRetryable,
  renderNotification,
  retryDelayMs,
  SIGNATURE_HEADER,
  signBody,
  TIMESTAMP_HEADER,
  verifySignature,
} from '../../../hub/alerts/notification.ts';
import { MESSAGE } from './alert-message.ts';

describe('channel payloads', () => {
  test('webhook: JSON body signed with HMAC-SHA256 over the raw body, timestamp header', () => {
    const req = renderNotification({ type: 'webhook', url: 'https://h.example/x', secret: 'topsecret' }, MESSAGE, 1_700_000_301_000);
    const body = JSON.parse(req.body);
    expect(body).toEqual({ version: 1, ...MESSAGE, sent_at: 1_700_000_301_000 });
    expect(req.headers[TIMESTAMP_HEADER]).toBe('1700000301000');
    expect(req.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(req.headers[SIGNATURE_HEADER]).toBe(signBody('topsecret', req.body));
    expect(verifySignature('topsecret', req.body, req.headers[SIGNATURE_HEADER])).toBe(true);
    expect(verifySignature('other', req.body, req.headers[SIGNATURE_HEADER])).toBe(false);
    expect(verifySignature('topsecret', req.body + ' ', req.headers[SIGNATURE_HEADER])).toBe(false);
    // No secret, no signature.
    expect(renderNotification({ type: 'webhook', url: 'https://h.example/x' }, MESSAGE, 1).headers[SIGNATURE_HEADER]).toBeUndefined();
  });

  test('slack: {text} with <, > and & escaped so a name cannot ping a channel', () => {
    const req = renderNotification({ type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }, MESSAGE, 1);
    const { text } = JSON.parse(req.body);
    expect(text).toContain('[FIRING] critical CPU hot &lt;!channel&gt; @everyone on web-01');
    expect(text).toContain('value 97.1 %');
    expect(text).not.toContain('<!channel>');
    expect(escapeSlack('a&b<c>')).toBe('a&amp;b&lt;c&gt;');
  });

  test('discord: {content} with mentions disabled, at most 2000 characters', () => {
    const long = { ...MESSAGE, rule_name: 'x'.repeat(3000) };
    const body = JSON.parse(renderNotification({ type: 'discord', url: 'https://discord.com/api/webhooks/1/x' }, long, 1).body);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content.length).toBe(2000);
  });

  test('ntfy: text body, Title/Priority/Tags headers, RFC 2047 title when not ASCII, token as bearer', () => {
    const req = renderNotification({ type: 'ntfy', url: 'https://ntfy.sh/ops', secret: 'tk_abc' }, MESSAGE, 1);
    expect(req.headers.Title).toBe('[FIRING] critical CPU hot <!channel> @everyone on web-01');
    expect(req.headers.Priority).toBe('5');
    expect(req.headers.Tags).toBe('rotating_light');
    expect(req.headers.Authorization).toBe('Bearer tk_abc');
    expect(req.body).toMatch(/^value 97\.1 % \(rule: cpu_percent > 90 for 300 s\), firing since 2023-11-14T22:13:20\.000Z\.$/);
    const resolved = renderNotification({ type: 'ntfy', url: 'https://ntfy.sh/ops' }, { ...MESSAGE, kind: 'resolved', rule_name: 'Température ☀' }, 1);
    expect(resolved.headers.Priority).toBe('3');
    expect(resolved.headers.Tags).toBe('white_check_mark');
    expect(resolved.headers.Title).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(resolved.headers.Title.slice(10, -2), 'base64').toString('utf8')).toBe('[RESOLVED] Température ☀ on web-01');
    expect(headerText('a\r\nb')).toBe('a b');
  });

  test('retry schedule and retryable failures', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, 1000)).toBe(15 * 60_000);
    expect([undefined, 500, 503, 408, 429].map(isRetryable)).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 410].map(isRetryable)).toEqual([false, false, false, false, false]);
  });
});
