// Sends queued notifications. The queue is the alert_notifications table, so nothing is lost when a
// hub stops or a receiver is down, and several hubs share the work: each leases due rows (FOR UPDATE
// SKIP LOCKED), sends them with a per-attempt timeout, and marks each sent, due again after an
// exponential backoff, or dead once the attempts are spent or the receiver refused for good (a 4xx).
// Dead letters stay visible in the API until someone retries them. A failure here never escapes: it is
// logged and the loop goes on.
//
// One receiver cannot hold up the others: each destination (host:port) gets at most a couple of sends
// at once and a circuit that opens after repeated timeouts (destination-circuit.ts); a notification
// held back by either is put back for later without using an attempt. Every connection goes through
// the destination guard's lookup (notify-destination.ts): no sends to private addresses unless
// NOTIFY_ALLOW_PRIVATE=1.
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../log.ts';
import type { AlertStore, NotificationJob } from './alert-store.ts';
import { createDestinationCircuits, DEFAULT_CIRCUIT, destinationOf, type CircuitOptions, type Outcome } from './destination-circuit.ts';
import { isPrivateAddress, type DestinationGuard } from './notify-destination.ts';
import { isRetryable, renderNotification, retryDelayMs } from './notification.ts';

export interface DispatcherOptions {
  store: Pick<AlertStore, 'claimNotifications' | 'markSent' | 'markRetry' | 'markDead' | 'markDeferred'>;
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
  /** Per-destination concurrency and circuit (default: 2 at once, open after 3 timeouts for 30 s). */
  circuit?: CircuitOptions;
  /** Refuses private destinations at connect time; undefined = any destination (NOTIFY_ALLOW_PRIVATE=1). */
  destinations?: DestinationGuard;
}

export interface NotificationDispatcher {
  /** Looks at the queue now (new notifications were queued). */
  nudge(): void;
  readonly stats: { sent: number; retried: number; dead: number; deferred: number };
  close(): Promise<void>;
}

class DeliveryError extends Error {
  readonly status: number | undefined;
  /** For the circuit: no answer at all (timeout, connection failure) or an HTTP answer. */
  readonly outcome: Outcome;
  /** Refused by the hub itself (a private destination): not retried. */
  readonly final: boolean;
  constructor(message: string, status: number | undefined, outcome: Outcome, final = false) {
    super(message);
    this.status = status;
    this.outcome = outcome;
    this.final = final;
  }
}

function post(url: string, headers: Record<string, string>, body: string, signal: AbortSignal, guard: DestinationGuard | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    // A literal address is never looked up, so it is checked here.
    if (guard?.lookup && (u.hostname.startsWith('[') || /^[\d.]+$/.test(u.hostname)) && isPrivateAddress(u.hostname)) {
      reject(Object.assign(new Error(`${u.hostname} is a private address`), { code: 'EPRIVATEADDRESS' }));
      return;
    }
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal, lookup: guard?.lookup, agent: false },
      (res) => {
        // The body is not needed; reading it frees the connection.
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function send(job: NotificationJob, timeoutMs: number, sentAtMs: number, shutdown: AbortSignal, guard: DestinationGuard | undefined): Promise<void> {
  const request = renderNotification(job.channel, job.message, sentAtMs);
  const timeout = AbortSignal.timeout(timeoutMs);
  let status: number;
  try {
    status = await post(request.url, { 'user-agent': 'sysmonstm-hub', ...request.headers }, request.body, AbortSignal.any([timeout, shutdown]), guard);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EPRIVATEADDRESS') throw new DeliveryError(`refused: ${e.message} (NOTIFY_ALLOW_PRIVATE)`, undefined, 'refused', true);
    const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message);
    throw new DeliveryError(reason, undefined, 'timeout');
  }
  if (status < 200 || status >= 300) throw new DeliveryError(`answered HTTP ${status}`, status, 'refused');
}

export function startNotificationDispatcher(options: DispatcherOptions): NotificationDispatcher {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 8;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  // A lease outlives one attempt comfortably; a hub that dies mid-send frees its rows when it runs out.
  const leaseMs = options.timeoutMs + 30_000;
  const stats = { sent: 0, retried: 0, dead: 0, deferred: 0 };
  const circuits = createDestinationCircuits(options.circuit ?? DEFAULT_CIRCUIT);
  const inFlight = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let again = false;

  async function attempt(job: NotificationJob): Promise<void> {
    const where = { id: job.id, kind: job.kind, rule: job.ruleId, machine: job.machine, channel: job.channel.type, attempt: job.attempts };
    const destination = destinationOf(job.channel.url);
    try {
      try {
        await send(job, options.timeoutMs, now(), shutdown.signal, options.destinations);
        circuits.done(destination, 'ok', now());
      } catch (err) {
        circuits.done(destination, err instanceof DeliveryError ? err.outcome : 'ok', now());
        if (err instanceof DeliveryError && err.outcome === 'timeout' && circuits.state(destination, now()) === 'open') {
          log.warn({ ...where, destination: redactUrl(job.channel.url) }, 'notification receiver keeps timing out; holding its notifications back for a while');
        }
        throw err;
      }
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
        if (err.final || !isRetryable(err.status) || job.attempts > options.retries) {
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
          const admission = circuits.admit(destinationOf(job.channel.url), now());
          if (!admission.send) {
            // Busy or open destination: back in the queue for later, the attempt given back.
            stats.deferred++;
            store.markDeferred(job.id, admission.retryInMs).catch((err: unknown) => log.warn({ id: job.id, err: (err as Error).message }, 'could not update the notification queue'));
            continue;
          }
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
