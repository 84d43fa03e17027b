// `npm run bench`: every benchmark in sequence, one process each, with the same flags (--quick or
// BENCH_QUICK=1 shrinks all of them), then a summary of which ran and how long each took. A failing
// benchmark is reported and the next one still runs; the exit code says whether all passed.
// bench/delta-format.ts prints its figures only: its output is written to its RESULTS.md section here.
// Run: node bench/run-benchmarks.ts [name ...] [--quick]     names: see BENCHMARKS in bench/results.ts
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, BENCHMARKS, commandLine, parseBenchArgs, REPO_ROOT, writeResultsSection, type BenchName } from './results.ts';

const args = parseBenchArgs(process.argv.slice(2), process.env);
const known = new Set<string>(BENCHMARKS.map((b) => b.name));
const unknown = args.positional.filter((n) => !known.has(n));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; one of ${[...known].join(', ')}`);
  process.exit(2);
}
const selected = (args.positional.length ? args.positional : [...known]) as BenchName[];
const passThrough = process.argv.slice(2).filter((a) => !known.has(a));

/** Runs one script with inherited output (or captured and echoed), bounded in time. */
function run(script: string, scriptArgs: string[], capture: boolean, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(BENCH_DIR, script), ...scriptArgs], {
      cwd: REPO_ROOT,
      stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
      env: process.env,
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d);
    });
    const timer = setTimeout(() => {
      console.error(`\n${script} still running after ${Math.round(timeoutMs / 60_000)} min: stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 1 : 0), output });
    });
  });
}

const summary: Array<{ benchmark: string; result: string; minutes: string }> = [];
for (const name of selected) {
  console.log(`\n======== ${name} ========`);
  const t0 = Date.now();
  let code: number;
  if (name === 'delta-format') {
    // Its own arguments are positional: machines and pushes.
    const scriptArgs = args.quick ? ['1000', '10'] : ['1000', '60'];
    const r = await run('delta-format.ts', scriptArgs, true, 10 * 60_000);
    code = r.code;
    if (code === 0) {
      writeResultsSection({
        name: 'delta-format',
        quick: args.quick,
        command: `node bench/delta-format.ts ${scriptArgs.join(' ')}${commandLine().includes('run-benchmarks') ? ` (via ${commandLine()})` : ''}`,
        body: ['Printed by bench/delta-format.ts (the format itself: docs/delta-format.md):', '', '```', r.output.trim(), '```'].join('\n'),
      });
    }
  } else {
    code = (await run(`${name}.ts`, passThrough, false, 60 * 60_000)).code;
  }
  summary.push({ benchmark: name, result: code === 0 ? 'ok' : `FAILED (exit ${code})`, minutes: ((Date.now() - t0) / 60_000).toFixed(1) });
}
console.log('\n======== summary ========');
console.table(summary);
process.exit(summary.every((s) => s.result === 'ok') ? 0 : 1);
