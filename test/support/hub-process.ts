// Runs the real CLI (`node bin/sysmonstm.js ...`) as a child process, the way a user starts it, and
// stops it with a signal. Output is kept for assertions and shown when a test fails. `runProgram` does
// the same for any command (`npx sysmonstm ...` from an installed package), in a process group of its
// own so that the programs it starts are stopped with it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends the signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

export function runProgram(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; group?: boolean }): CliProcess {
  const group = options.group ?? false;
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      /* already gone */
    }
  };
  return {
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        if (group) kill('SIGKILL'); // whatever the group still holds
        return exited;
      }
      kill(signal);
      const timer = setTimeout(() => kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export function runCli(args: string[], env: Record<string, string>): CliProcess {
  return runProgram(process.execPath, [path.join(ROOT, 'bin', 'sysmonstm.js'), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env } });
}
