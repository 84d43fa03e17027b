// The dead-man webhook a view's relay calls when the hub went silent (and once more when it is back):
// a JSON POST signed like the hub's own webhooks (hub/alerts/notification.ts): `X-Sysmonstm-Signature:
// sha256=<hex HMAC-SHA256(DEADMAN_WEBHOOK_SECRET, raw body)>`, `X-Sysmonstm-Timestamp` and
// `X-Sysmonstm-Event` (firing | resolved). Building and signing are here (Web Crypto only, so it runs
// in workerd and Node alike); the relay's alarm does the sending.

export const SIGNATURE_HEADER = 'X-Sysmonstm-Signature';
export const TIMESTAMP_HEADER = 'X-Sysmonstm-Timestamp';
export const EVENT_HEADER = 'X-Sysmonstm-Event';

export interface DeadmanNotice {
  kind: 'firing' | 'resolved';
  /** The view whose relay noticed (each view's relay watches its own hub socket). */
  view: string;
  /** Relay ms when the hub was last heard. */
  heardAtMs: number;
  /** Relay ms of the decision. */
  atMs: number;
}

export interface DeadmanRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const encoder = new TextEncoder();

/** `sha256=<hex>` of HMAC-SHA256(secret, body): the same value as the hub's signBody. */
export async function signBody(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export async function deadmanRequest(url: string, secret: string | undefined, notice: DeadmanNotice, sentAtMs: number): Promise<DeadmanRequest> {
  const silentForS = Math.max(0, Math.round((notice.atMs - notice.heardAtMs) / 1000));
  const body = JSON.stringify({
    version: 1,
    kind: notice.kind,
    event: 'hub_silent',
    view: notice.view,
    summary:
      notice.kind === 'firing'
        ? `[FIRING] the sysmonstm hub feeding view "${notice.view}" has been silent for ${silentForS} s`
        : `[RESOLVED] the sysmonstm hub feeding view "${notice.view}" is back`,
    heard_at: notice.heardAtMs,
    silent_for_s: notice.kind === 'firing' ? silentForS : 0,
    at: notice.atMs,
    sent_at: sentAtMs,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(sentAtMs),
    [EVENT_HEADER]: notice.kind,
  };
  if (secret) headers[SIGNATURE_HEADER] = await signBody(secret, body);
  return { url, headers, body };
}
