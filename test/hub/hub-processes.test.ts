// The supervisor of HUB_PROCESSES (hub/hub-processes.ts) with real cluster workers that start no hub
// (test/fixtures/hub-processes/supervisor.ts): a process that stops on a configuration error stops
// the others, and the primary exits with the configuration-error code even when another process's
// close fails meanwhile.
import path from 'node:path';
import { expect, test } from 'vitest';
import { CONFIG_ERROR_EXIT_CODE } from '../../hub/hub-processes.ts';
import { runProgram } from '../support/hub-process.ts';

test('a configuration error in one process: the primary exits 2, also when another process fails to close', async () => {
  const primary = runProgram(process.execPath, [path.join(import.meta.dirname, '../fixtures/hub-processes/supervisor.ts')], { cwd: path.join(import.meta.dirname, '../..'), env: process.env });
  const timer = setTimeout(() => void primary.stop('SIGKILL'), 20_000);
  const code = await primary.exited;
  clearTimeout(timer);
  expect(code, primary.output()).toBe(CONFIG_ERROR_EXIT_CODE);
}, 30_000);
