// Runs a short-lived command of a slow source (smartctl, systemctl): bounded in time and output, the
// exit code returned rather than thrown (smartctl's exit code is a bit mask that often comes with
// good output). Only a command that cannot start (not installed: ENOENT) or times out rejects.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCommand(file: string, args: readonly string[], options: { timeoutMs?: number; maxBytes?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: options.maxBytes ?? 4 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(Object.assign(new Error(`${file}: ${err.killed ? 'timed out' : err.message}`), { code: err.code }));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}
