// The Node and V8 options the collector runs with: what bench:collector measured keeps its peak RSS
// lowest at no CPU cost that matters for one sample a second (bench/RESULTS.md, "Collector footprint"):
//   --max-semi-space-size=1  a 1 MiB young generation (V8's default grows it to 16 MiB);
//   --single-threaded        no V8 worker threads (concurrent GC and compiler threads, their stacks);
//   --no-opt                 no optimizing compiler (TurboFan): its code and the pages of the node
//                            executable it runs from are never touched;
//   --no-sparkplug           no baseline compiler: the bytecode is interpreted, no machine code kept.
// Several of them are refused in NODE_OPTIONS, so they go on node's command line: the systemd unit and
// the collector image write them there, and `sysmonstm collector` started without them re-executes
// node with them in the same process (process.execve: same pid, so systemd and tini are not confused).
// Plain JavaScript, like entry-points.js: deciding costs no type stripping.

export const COLLECTOR_NODE_OPTIONS = Object.freeze(['--max-semi-space-size=1', '--single-threaded', '--no-opt', '--no-sparkplug']);

/**
 * The argv to re-execute node with (for process.execve), or null to run in this process as it is: when
 * node was given options of its own (on its command line or in NODE_OPTIONS, the user's choice wins),
 * when the platform has no execve (Windows), or for a command other than the collector. With
 * `cjsEntry` (bin/collector.cjs, when the package is built) the new process starts there with the
 * collector's arguments; otherwise it runs this script again with the same arguments.
 * @param {{ command: string, execArgv: readonly string[], argv: readonly string[], execPath: string, env: Readonly<Record<string, string | undefined>>, canExecve: boolean, cjsEntry?: string }} input
 * @returns {string[] | null}
 */
export function collectorRelaunchArgv({ command, execArgv, argv, execPath, env, canExecve, cjsEntry }) {
  if (command !== 'collector' || !canExecve) return null;
  if (execArgv.length > 0 || (env.NODE_OPTIONS ?? '').trim() !== '') return null;
  // argv: [node, this script, 'collector', ...the collector's arguments].
  if (cjsEntry) return [execPath, ...COLLECTOR_NODE_OPTIONS, cjsEntry, ...argv.slice(3)];
  return [execPath, ...COLLECTOR_NODE_OPTIONS, ...argv.slice(1)];
}
