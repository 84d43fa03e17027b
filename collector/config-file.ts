// Files the collector's configuration names, read at start: an unreadable one ends the start with a
// ConfigError naming the variable (exit code 2), not a stack trace.
import { readFile } from 'node:fs/promises';
import { ConfigError } from './config.ts';

/** "ENOENT: no such file or directory, open '/x'" → "no such file or directory". */
export function fileErrorReason(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  return /^[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

/** `source` names the setting, like "AGGREGATOR_CA_FILE (--hub-ca)". */
export async function readConfigFile(source: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ConfigError(`${source}: cannot read ${file} (${fileErrorReason(err)})`);
  }
}
