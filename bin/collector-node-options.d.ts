// Types for collector-node-options.js.
export const COLLECTOR_NODE_OPTIONS: readonly string[];

export function collectorRelaunchArgv(input: {
  command: string;
  execArgv: readonly string[];
  argv: readonly string[];
  execPath: string;
  env: Readonly<Record<string, string | undefined>>;
  canExecve: boolean;
  /** bin/collector.cjs when the built CommonJS bundle is there. */
  cjsEntry?: string;
}): string[] | null;
