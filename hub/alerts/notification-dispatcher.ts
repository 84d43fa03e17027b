// Sends queued notifications. The queue is the alert_notifications table, so nothing is lost when a
// hub stops or a receiver is down, and several hubs share the work: each leases due rows (FOR UPDATE
// SKIP LOCKED), sends them with a per-attempt timeout, and marks each sent, due again after an
// exponential backoff, or dead once the attempts are spent or the receiver refused for good (a 4xx).
// Dead letters stay visible in the API until someone retries them. A failure here never escapes: it is
// logged and the loop goes on.
import type { Logger } from '../log.ts';
import type { AlertStore, NotificationJob } from './alert-store.ts';
import { isRetryable, renderNotification, retryDelayMs } from './notification.ts';

export interface DispatcherOptions {
  store: Pick<AlertStore, 'claimNotifications' | 'markSent' | 'markRetry' | 'markDead'>;
  log: Logger;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first one. */
  retries: number;
  /** First retry delay; doubles each time. */
  backoffMs: number;
  /** How often the queue is looked at when nothing nudged it. */
  pollIntervalMs?: number;
  concurrency?: number;
  now?: () => number;
}

export interface NotificationDispatcher {
  /** Looks at the queue now (new notifications were queued). */
  nudge(): void;
  readonly stats: { sent: number; retried: number; dead: number };
  close(): Promise<void>;
}

class DeliveryError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.status = status;
  }
}

async function send(job: NotificationJob, timeoutMs: number, sentAtMs: number, shutdown: AbortSignal): Promise<void> {
  const request = renderNotification(job.channel, job.message, sentAtMs);
  let res: Response;
  try {
    res = await fetch(request.url, {
      method: 'POST',
      headers: { 'user-agent': 'sysmonstm-hub', ...request.headers },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), shutdown]),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new DeliveryError(reason, undefined);
  }
  // The body is not needed; reading it frees the connection.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new DeliveryError(`answered HTTP ${res.status}`, res.status);
}

export function startNotificationDispatcher(options: DispatcherOptions): NotificationDispatcher {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 8;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  // A lease outlives one attempt comfortably; a hub that dies mid-send frees its rows when it runs out.
  const leaseMs = options.timeoutMs + 30_000;
  const stats = { sent: 0, retried: 0, dead: 0 };
  const inFlight = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let again = false;

  async function attempt(job: NotificationJob): Promise<void> {
    const where = { id: job.id, kind: job.kind, rule: job.ruleId, machine: job.machine, channel: job.channel.type, attempt: job.attempts };
    try {
      await send(job, options.timeoutMs, now(), shutdown.signal);
      stats.sent++;
      await store.markSent(job.id);
      log.info(where, 'notification sent');
    } catch (err) {
      // Stopped mid-send: the lease runs out and the notification is sent later (by this hub or another).
      if (shutdown.signal.aborted) return;
      if (!(err instanceof DeliveryError)) {
        // The queue itself failed (database): the lease runs out and the row is tried again.
        log.warn({ ...where, err: (err as Error).message }, 'could not update the notification queue');
        return;
      }
      const error = `${job.channel.type} ${redactUrl(job.channel.url)}: ${err.message}`;
      try {
        if (!isRetryable(err.status) || job.attempts > options.retries) {
          stats.dead++;
          await store.markDead(job.id, error);
          log.warn({ ...where, err: error }, 'notification failed for good; kept in the dead letters');
        } else {
          const delay = retryDelayMs(job.attempts, options.backoffMs);
          stats.retried++;
          await store.markRetry(job.id, delay, error);
          log.info({ ...where, err: error, retryInMs: delay }, 'notification failed; retrying');
        }
      } catch (dbErr) {
        log.warn({ ...where, err: (dbErr as Error).message }, 'could not update the notification queue');
      }
    }
  }

  async function poll(): Promise<void> {
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    try {
      do {
        again = false;
        const free = concurrency - inFlight.size;
        if (free <= 0 || closed) break;
        let jobs: NotificationJob[];
        try {
          jobs = await store.claimNotifications(free, leaseMs);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'could not read the notification queue; trying again shortly');
          break;
        }
        for (const job of jobs) {
          const p: Promise<void> = attempt(job).finally(() => {
            inFlight.delete(p);
            if (!closed) void poll();
          });
          inFlight.add(p);
        }
        if (jobs.length === free) again = true;
      } while (again && !closed);
    } finally {
      polling = false;
    }
  }

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      void poll().finally(schedule);
    }, pollIntervalMs);
    timer.unref();
  };
  schedule();
  void poll();

  return {
    stats,
    nudge() {
      if (!closed) void poll();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      shutdown.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** Logs and dead letters name the receiver without its path (a Slack or Discord URL path is a secret). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '/' : '/…'}`;
  } catch {
    return '(invalid URL)';
  }
}
