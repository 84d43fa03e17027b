// "Send a test" for a saved channel (POST /api/channels/{id}/test): one notification of kind "test",
// rendered like every other for the channel's type (signed when the channel has a secret), sent at
// once rather than queued, so the answer says whether the channel works. No retries: a failure is
// reported, not repeated.
import type { ChannelSpec } from './alert-rule.ts';
import { renderNotification, type AlertMessage } from './notification.ts';

export type ChannelTestResult = { ok: true; status: number } | { ok: false; status: number | undefined; error: string };

/** The message a test sends (pure). */
export function testMessage(channelName: string, nowMs: number): AlertMessage {
  return {
    kind: 'test',
    rule_id: 'test',
    rule_name: `Test of channel "${channelName}"`,
    metric: 'cpu_percent',
    condition: 'none (a test)',
    severity: 'warning',
    machine: 'sysmonstm hub',
    value: null,
    since: nowMs,
    at: nowMs,
  };
}

export async function sendTestNotification(channel: ChannelSpec, channelName: string, options: { timeoutMs: number; nowMs: number }): Promise<ChannelTestResult> {
  const request = renderNotification(channel, testMessage(channelName, options.nowMs), options.nowMs);
  let res: Response;
  try {
    res = await fetch(request.url, {
      method: 'POST',
      headers: { 'user-agent': 'sysmonstm-hub', ...request.headers },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { ok: false, status: undefined, error: e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message) };
  }
  await res.arrayBuffer().catch(() => undefined);
  return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `answered HTTP ${res.status}` };
}
