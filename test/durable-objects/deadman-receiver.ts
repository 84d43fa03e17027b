// The dead-man webhook's receiver, on the Node side of Miniflare: the outbound service of the workers
// projects (every fetch the Worker and its objects make goes here, so nothing leaves the machine) keeps
// the POSTs to DEADMAN_WEBHOOK_URL (set in workers-sharded) with their signature checked by node:crypto
// (not by the relay's own Web Crypto code), and answers everything else 502. The tests, inside workerd, read
// what arrived through the DEADMAN_HOOKS service binding.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DEADMAN_WEBHOOK_URL = 'https://deadman.test/hook';
export const DEADMAN_WEBHOOK_SECRET = 'workers-test-deadman-secret';

export interface ReceivedNotice {
  event: string | null;
  verified: boolean;
  body: Record<string, unknown>;
}

const received: ReceivedNotice[] = [];

function verified(body: string, signature: string | null): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', DEADMAN_WEBHOOK_SECRET).update(body).digest('hex')}`);
  const given = Buffer.from(signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The outbound service: keeps dead-man notices, refuses anything else. */
export async function outbound(request: Request): Promise<Response> {
  if (request.method !== 'POST' || request.url !== DEADMAN_WEBHOOK_URL) {
    return new Response(`tests make no outbound requests (${request.method} ${request.url})`, { status: 502 });
  }
  const body = await request.text();
  received.push({ event: request.headers.get('X-Sysmonstm-Event'), verified: verified(body, request.headers.get('X-Sysmonstm-Signature')), body: JSON.parse(body) as Record<string, unknown> });
  return new Response(null, { status: 204 });
}

/** The DEADMAN_HOOKS binding: every notice received so far. */
export async function hooks(): Promise<Response> {
  return Response.json(received);
}
