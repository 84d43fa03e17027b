// HUB_PROCESSES > 1: several hub processes on this machine (node:cluster). The primary opens nothing
// itself: it forks the workers, which share the gRPC and HTTP ports (the primary hands out accepted
// connections round-robin) and coordinate through Redis like hub replicas (docs/operations.md). It
// restarts a worker that exits unexpectedly, with backoff (1 s doubling to 30 s, reset once a worker
// ran a minute); a worker that exits with the configuration-error code stops them all, because
// restarting cannot fix it. SIGTERM / SIGINT / SIGHUP ask every worker for its ordered close (over
// IPC, not a second signal: a terminal's Ctrl-C already reached them) and the primary exits once all
// are gone. Each worker asks the primary for its slot (1..N, kept across restarts) once it listens
// for the answer and for the stop request (a message sent before that would be lost): a worker that
// asks while the others are being stopped is told to stop with its answer.
import cluster, { type Worker } from 'node:cluster';
import { backoffCeilingMs } from '../proto/backoff.ts';
import type { Logger } from './log.ts';

/** Exit code of a configuration or start-up error (hub/main.ts): not restarted. */
export const CONFIG_ERROR_EXIT_CODE = 2;
const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long has its restart backoff reset. */
const HEALTHY_RUN_MS = 60_000;
/** After asking the workers to close: SIGKILL for those still running (their own grace is 10 s). */
const STOP_GRACE_MS = 30_000;

export interface HubSlot {
  /** 1..count; slot 1 does what one process of the machine does (the local collector of `sysmonstm all`, backups). */
  readonly slot: number;
  readonly count: number;
}

type ToWorker = { type: 'sysmonstm-slot'; slot: number; count: number } | { type: 'sysmonstm-stop' };
type ToPrimary = { type: 'sysmonstm-slot?' };

/** In a worker: its slot, asked of the primary. */
export function receiveSlot(): Promise<HubSlot> {
  return new Promise((resolve) => {
    const onMessage = (msg: ToWorker) => {
      if (msg?.type !== 'sysmonstm-slot') return;
      process.off('message', onMessage);
      resolve({ slot: msg.slot, count: msg.count });
    };
    process.on('message', onMessage);
    process.send!({ type: 'sysmonstm-slot?' } satisfies ToPrimary);
  });
}

/** In a worker: `stop` runs when the primary asks for the ordered close, or goes away (call before receiveSlot). */
export function onStopRequest(stop: () => void): void {
  process.on('message', (msg: ToWorker) => {
    if (msg?.type === 'sysmonstm-stop') stop();
  });
  process.on('disconnect', stop);
}

/** The primary: forks `count` workers and supervises them; resolves with the exit code for the primary. */
export function superviseHubProcesses(count: number, log: Logger): Promise<number> {
  const workers = new Map<number, Worker>();
  const restarts = new Map<number, number>();
  let stopping = false;
  let exitCode = 0;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  function fork(slot: number): void {
    const startedAt = Date.now();
    const worker = cluster.fork();
    workers.set(slot, worker);
    worker.on('message', (msg: ToPrimary) => {
      if (msg?.type !== 'sysmonstm-slot?') return;
      worker.send({ type: 'sysmonstm-slot', slot, count } satisfies ToWorker);
      // Asked to stop before it listened (still starting): the request it missed.
      if (stopping) worker.send({ type: 'sysmonstm-stop' } satisfies ToWorker);
    });
    worker.once('exit', (code, signal) => {
      workers.delete(slot);
      const ranMs = Date.now() - startedAt;
      if (stopping) {
        if (code !== 0 && exitCode === 0) exitCode = 1; // a configuration error's code is kept
        if (workers.size === 0) finish(exitCode);
        return;
      }
      if (code === CONFIG_ERROR_EXIT_CODE) {
        log.error({ slot, workerPid: worker.process.pid, code }, 'a hub process stopped on a configuration or start-up error; stopping the others');
        exitCode = CONFIG_ERROR_EXIT_CODE;
        stop();
        return;
      }
      const attempt = ranMs >= HEALTHY_RUN_MS ? 0 : (restarts.get(slot) ?? 0);
      restarts.set(slot, attempt + 1);
      const delayMs = backoffCeilingMs(attempt, RESTART_BASE_MS, RESTART_MAX_MS);
      log.warn({ slot, workerPid: worker.process.pid, code, signal, ranMs, restartInMs: delayMs }, 'hub process exited; restarting it');
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delayMs);
    });
  }

  function stop(): void {
    if (stopping) return;
    stopping = true;
    if (workers.size === 0) {
      finish(exitCode);
      return;
    }
    for (const worker of workers.values()) {
      try {
        worker.send({ type: 'sysmonstm-stop' } satisfies ToWorker);
      } catch {
        worker.process.kill('SIGTERM');
      }
    }
    setTimeout(() => {
      for (const worker of workers.values()) worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log.info({ signal, processes: workers.size }, 'shutting down the hub processes');
      stop();
    });
  }
  log.info({ processes: count }, 'starting hub processes (HUB_PROCESSES)');
  for (let slot = 1; slot <= count; slot++) fork(slot);
  return done;
}
