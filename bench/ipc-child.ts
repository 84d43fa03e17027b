// A benchmark helper process driven over IPC: fork it, send commands, await its replies by type. A
// reply {type:'error'} or an unexpected exit fails every waiting call instead of leaving it hanging.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, REPO_ROOT } from './results.ts';

export interface IpcChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The next message of this type (messages are matched in arrival order). */
  next<T = Record<string, unknown>>(type: string): Promise<T>;
  send(msg: unknown): void;
  /** Sends `closeMessage`, waits for the exit (SIGKILL after `timeoutMs`). */
  close(closeMessage: unknown, timeoutMs?: number): Promise<void>;
}

export function forkChild(script: string, options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): IpcChild {
  const child = fork(path.join(BENCH_DIR, script), [], {
    cwd: REPO_ROOT,
    execArgv: options.execArgv ?? [],
    env: options.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, Array<{ resolve(msg: unknown): void; reject(err: Error): void }>>();
  let failure: Error | undefined;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const failAll = (err: Error) => {
    failure ??= err;
    for (const list of waiting.values()) for (const w of list) w.reject(err);
    waiting.clear();
  };
  child.on('message', (msg: { type?: string; message?: string }) => {
    if (msg.type === 'error') return failAll(new Error(`${script} (pid ${child.pid}): ${msg.message ?? 'failed'}`));
    waiting.get(msg.type ?? '')?.shift()?.resolve(msg);
  });
  child.once('exit', (code, signal) => failAll(new Error(`${script} (pid ${child.pid}) exited (${code ?? signal})`)));
  return {
    child,
    pid: child.pid!,
    next<T>(type: string) {
      if (failure) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        const list = waiting.get(type) ?? [];
        list.push({ resolve: resolve as (msg: unknown) => void, reject });
        waiting.set(type, list);
      });
    },
    send(msg) {
      if (!exited && child.connected) child.send(msg as object);
    },
    async close(closeMessage, timeoutMs = 30_000) {
      if (exited) return;
      if (child.connected) child.send(closeMessage as object);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
