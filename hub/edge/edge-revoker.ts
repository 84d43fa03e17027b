// Delivers the revocation of a deleted public view: connects to the view's relay socket
// (EDGE_URL?view=<slug>), sends {"t":"x","slug"} and closes. The revocation counts as taken once the
// close handshake completes after the frame was written (the relay read it before answering the
// close). Until then it retries with backoff; the hub keeps a tombstone meanwhile.
import WebSocket from 'ws';
import type { ViewRevokeFrame } from '../../proto/view-frames.ts';
import type { Logger } from '../log.ts';
import { fullJitterDelayMs, type BackoffOptions } from './backoff.ts';

export interface EdgeRevocation {
  /** Resolves when the relay has taken the revocation (never rejects; cancel() stops trying). */
  readonly done: Promise<boolean>;
  cancel(): void;
}

export function revokeAtEdge(options: { url: string; apiKey: string; slug: string; log: Logger; backoff: BackoffOptions; random?: () => number }): EdgeRevocation {
  const random = options.random ?? Math.random;
  let attempt = 0;
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let socket: WebSocket | undefined;
  let resolveDone!: (taken: boolean) => void;
  const done = new Promise<boolean>((r) => (resolveDone = r));
  const frame = JSON.stringify({ t: 'x', slug: options.slug } satisfies ViewRevokeFrame);

  const retry = () => {
    if (cancelled) return;
    timer = setTimeout(tryOnce, fullJitterDelayMs(attempt++, options.backoff, random) + options.backoff.baseMs / 2);
    timer.unref();
  };
  function tryOnce() {
    if (cancelled) return;
    let written = false;
    const ws = new WebSocket(options.url, { headers: { Authorization: `Bearer ${options.apiKey}` }, handshakeTimeout: 10_000, maxPayload: 64 * 1024 });
    socket = ws;
    ws.on('open', () => {
      ws.send(frame, (err) => {
        if (err) return;
        written = true;
        ws.close(1000, 'view revoked');
      });
    });
    ws.on('error', (err) => options.log.debug({ slug: options.slug, err: err.message }, 'revoking a public view at the edge failed; retrying'));
    ws.on('close', (code) => {
      socket = undefined;
      // 1006: the connection broke without the relay's close frame, so it may not have read ours.
      if (written && code !== 1006) {
        options.log.info({ slug: options.slug }, 'public view revoked at the edge');
        resolveDone(true);
      } else retry();
    });
  }
  tryOnce();
  return {
    done,
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      socket?.terminate();
      resolveDone(false);
    },
  };
}
